"""The guided setup: backend, models, disk space, environments, checkpoints, final check.

Every choice and every finished task is saved to `data_dir()/wizard.json` at once, so closing the
app midway and opening this screen again resumes at the same step, skipping what is done.
"""

from __future__ import annotations

import dataclasses

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Header, Static

from tui import catalog
from tui.config import Config
from tui.downloads import CheckpointNeeded
from tui.environments import Backend, backend_for
from tui.environments.conda import FLAVOURS, find_executable
from tui.errors import UserError
from tui.screens import NavEntry
from tui.setup import wizard
from tui.setup.diagnosis import diagnose
from tui.setup.wizard import STEP_TITLES, STEPS
from tui.text import markup, notification
from tui.widgets.confirm import Confirm
from tui.widgets.setup import BackendChoice, CheckReport, DiskTable, ModelChoice, Task, TaskRunner
from tui.widgets.footer import AppFooter

FORWARD = {"backend": "Next: models", "models": "Next: disk space", "disk": "Build the environments",
           "environments": "Fetch the checkpoints", "checkpoints": "Final check", "check": "Finish",
           "done": "Start over"}
"""What the forward button says on each step: what pressing it does."""
LONG = {"disk": "Build the environments of the chosen models now? It can take many minutes.",
        "environments": "Fetch the chosen models' checkpoints now? Some are gigabytes."}
"""The steps whose Next starts a long operation: the n key asks first."""


class SetupScreen(Screen):
    NAV = NavEntry("setup", "s", "Setup", "Guided setup: environments, checkpoints and a final check", order=30)
    BINDINGS = [  # one key goes forward; the footer names what it does on this step. A key that would start
        # a long operation or finish asks first; the button below the step (Enter on it) does it at once.
        Binding("n", "next", "Next"),
        Binding("n", "finish", "Finish"),
        Binding("n", "start_over", "Start over"),
        Binding("backspace", "back", "Back"),  # not p: the area letters are the app's
        Binding("t", "retry", "Retry", tooltip="Run the step's failed tasks again (asks first)"),
    ]

    busy = False
    """Tasks are running: the wizard stays on this step until they end."""
    retry_offered = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="setup-steps")
        yield Static("", id="setup-outcome", classes="hidden")
        found = {flavour: find_executable(self.app.settings, flavour) for flavour in FLAVOURS}
        with ContentSwitcher(id="setup-panes", initial="backend"):
            yield BackendChoice(found, id="backend")
            yield ModelChoice(id="models")
            yield DiskTable(id="disk")
            yield TaskRunner(id="environments")
            yield TaskRunner(id="checkpoints")
            yield CheckReport(id="check")
        with Horizontal(id="setup-buttons"):
            yield Button("Back", id="setup-back", compact=True)
            yield Button("Next", id="setup-forward", variant="primary", compact=True)
            yield Button("Retry", id="setup-retry", compact=True, classes="hidden")
        yield AppFooter()

    @property
    def panes(self) -> ContentSwitcher:
        return self.query_one("#setup-panes", ContentSwitcher)

    @property
    def steps_bar(self) -> Static:
        return self.query_one("#setup-steps", Static)

    @property
    def backend_choice(self) -> BackendChoice:
        return self.query_one("#backend", BackendChoice)

    @property
    def model_choice(self) -> ModelChoice:
        return self.query_one("#models", ModelChoice)

    @property
    def disk_table(self) -> DiskTable:
        return self.query_one("#disk", DiskTable)

    @property
    def environments_runner(self) -> TaskRunner:
        return self.query_one("#environments", TaskRunner)

    @property
    def checkpoints_runner(self) -> TaskRunner:
        return self.query_one("#checkpoints", TaskRunner)

    @property
    def check_report(self) -> CheckReport:
        return self.query_one("#check", CheckReport)

    @property
    def outcome(self) -> Static:
        return self.query_one("#setup-outcome", Static)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """A wizard key shows in the footer only where it applies (False hides it) and is dimmed
        (None) while the step's tasks run, and Back on the first step."""
        step = self.state.step if hasattr(self, "state") else None
        shown = {"next": step not in (None, "check", "done"), "finish": step == "check", "start_over": step == "done",
                 "back": step not in (None, "done"), "retry": self.retry_offered}
        if action not in shown:
            return True
        if not shown[action]:
            return False
        return None if self.busy or (action == "back" and step == STEPS[0]) else True

    @property
    def settings(self) -> Config:
        """The app's settings with the backend this wizard run chose."""
        return dataclasses.replace(self.app.settings, backend=self.state.backend)

    def on_mount(self) -> None:
        self.state = wizard.load_state()
        self.backend_choice.select(self.state.backend)
        self.model_choice.select(self.state.models)
        self.show_step(self.state.step)

    def show_step(self, step: str) -> None:
        self.state.step = step
        wizard.save_state(self.state)
        pane = "check" if step == "done" else step
        self.panes.current = pane
        self.show_steps_bar()
        self.busy = self.retry_offered = False
        self.refresh_bindings()
        self.outcome.add_class("hidden")
        self.show_buttons()
        self.focus_step(pane)
        if step == "disk":
            self.measure_disk()
        elif step == "environments":
            self.start_environments()
        elif step == "checkpoints":
            self.start_checkpoints()
        elif pane == "check":
            self.run_check()

    def show_buttons(self) -> None:
        """The buttons say what they do on this step, and are off where their key is dimmed."""
        step = self.state.step
        forward = self.query_one("#setup-forward", Button)
        forward.label = FORWARD[step]
        forward.disabled = self.busy
        self.query_one("#setup-back", Button).disabled = self.busy or step in (STEPS[0], "done")
        self.query_one("#setup-retry", Button).set_class(not self.retry_offered, "hidden")

    def focus_step(self, pane: str) -> None:
        """The step's own list has the focus, so up, down and space work at once."""
        target = {"backend": self.backend_choice.radio_set, "models": self.model_choice.selection_list,
                  "disk": self.disk_table}.get(pane, self.query_one("#setup-forward", Button))
        self.set_focus(target)

    def show_steps_bar(self) -> None:
        """Every step by name where the bar has room, else the current one only (`1 › 2 › 3. Disk space › 4`)."""
        current = self.panes.current

        def bar(named: bool) -> Text:
            return Text("  ›  ").join(
                Text(f" {number}. {title} ", style="bold reverse") if name == current else
                Text(f"{number}. {title}" if named else str(number))
                for number, (name, title) in enumerate(STEP_TITLES.items(), start=1))

        full = bar(named=True)
        self.steps_bar.update(full if full.cell_len <= self.steps_bar.content_size.width else bar(named=False))

    def on_resize(self) -> None:
        if self.panes.current is not None:
            self.show_steps_bar()

    @work(thread=True, exclusive=True, group="setup-disk")
    def measure_disk(self) -> None:
        """The chosen models' needs against free space, off the UI thread: it reads the environment
        specs and asks each disk."""
        models = [catalog.get(name) for name in self.state.models]
        try:
            backend_name = backend_for(self.settings).name
        except UserError as exc:  # said once; the needs are then measured as for the embedded backend
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            backend_name = "embedded"
        try:
            needs = wizard.disk_needs(models, backend_name, self.settings)
        except UserError as exc:  # an unreadable environment spec
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._show_disk_needs, needs)

    def _show_disk_needs(self, needs: list[wizard.DiskNeed]) -> None:
        self.disk_table.show_needs(needs)
        if not all(need.enough for need in needs):
            self.notify("Not enough free disk space for everything chosen", severity="warning")

    def _backend(self) -> Backend | None:
        try:
            return backend_for(self.settings)
        except UserError as exc:
            self.notify(notification(exc), severity="error", markup=False)
            return None

    def start_environments(self) -> None:
        backend = self._backend()
        if backend is None:
            return
        todo = [f for f in self.state.families(self.settings) if f not in self.state.environments_done]

        def build(family: str):
            return lambda report: wizard.build_environment(backend, family, report.line, report.step, report.fraction)

        self._start(self.environments_runner, [Task(f, f"environment {f} ({backend.name})", build(f)) for f in todo])

    def start_checkpoints(self) -> None:
        settings = self.settings
        todo = [name for name in self.state.models if name not in self.state.fetched]

        def fetch(name: str):
            def run(report) -> None:
                try:
                    wizard.fetch_checkpoint(catalog.get(name), settings, report.line, report.fraction)
                except CheckpointNeeded as exc:  # the app imports it on the Models screen, not with a command
                    raise UserError(f"{exc}; then import it on the Models screen (m, then i)") from None
            return run

        self._start(self.checkpoints_runner, [Task(name, f"checkpoint {name}", fetch(name)) for name in todo])

    def _start(self, runner: TaskRunner, tasks: list[Task]) -> None:
        if not tasks:
            runner.task_title.update("Nothing left to do here.")
            return
        self.busy = True
        self.refresh_bindings()
        self.show_buttons()
        runner.start(tasks)

    @on(TaskRunner.TaskFinished)
    def record_task(self, message: TaskRunner.TaskFinished) -> None:
        if message.error:
            self.notify(notification(message.error), severity="error", title=message.key, markup=False)
            return
        done = self.state.environments_done if message.runner is self.environments_runner else self.state.fetched
        done.append(message.key)
        wizard.save_state(self.state)

    @on(TaskRunner.AllFinished)
    def tasks_finished(self, message: TaskRunner.AllFinished) -> None:
        self.busy = False
        self.retry_offered = bool(message.failed)
        self.refresh_bindings()
        self.show_buttons()

    @work(thread=True, exclusive=True, group="setup-check")
    def run_check(self) -> None:
        settings = self.settings
        diagnoses = [diagnose(catalog.get(name), settings) for name in self.state.models or catalog.names()]
        self.app.call_from_thread(self.check_report.show_diagnoses, diagnoses)
        self.app.call_from_thread(self._show_outcome, wizard.failed_steps(self.state, settings))

    def _show_outcome(self, failed: list[str]) -> None:
        if failed:
            self.outcome.update(f"[b]Steps that failed:[/] {markup('; '.join(failed))}. The table says what each model "
                                "still needs.")
        else:
            self.outcome.update("Every step succeeded.")
        self.outcome.set_class(bool(failed), "-failed").remove_class("hidden")

    def keep_choices(self, step: str) -> None:
        """What the user chose on this step, kept whichever way they leave it."""
        if step == "backend":
            self.state.backend = self.backend_choice.value
        elif step == "models":
            self.state.models = self.model_choice.value

    @on(Button.Pressed, "#setup-forward")
    def forward_pressed(self) -> None:
        """The deliberate press: goes on without asking."""
        step = self.state.step
        {"check": self.finish, "done": self.action_start_over}.get(step, self.next_step)()

    @on(Button.Pressed, "#setup-back")
    def back_pressed(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#setup-retry")
    def retry_pressed(self) -> None:
        self.show_step(self.state.step)

    def action_back(self) -> None:
        self.keep_choices(self.state.step)
        step = STEPS.index(self.state.step)
        if step > 0:
            self.show_step(STEPS[step - 1])

    def action_retry(self) -> None:
        """Run the step's tasks again, once the user said so; those that finished are skipped."""
        self.app.push_screen(Confirm("Run this step's failed tasks again?", yes="Retry"),
                             lambda yes: yes and self.show_step(self.state.step))

    def action_next(self) -> None:
        """The n key: a step that starts a long operation asks first."""
        step = self.state.step
        self.keep_choices(step)
        if step in LONG:
            self.app.push_screen(Confirm(LONG[step], yes="Start", no="Not now"), lambda yes: yes and self.next_step())
        else:
            self.next_step()

    def next_step(self) -> None:
        step = self.state.step
        self.keep_choices(step)
        if step == "models" and not self.state.models:
            self.notify("Tick at least one model", severity="error")
            return
        self.show_step(STEPS[STEPS.index(step) + 1])

    def action_finish(self) -> None:
        """The n key on the final check: finishing is said twice."""
        self.app.push_screen(Confirm("Finish the setup? The wizard starts over next time.", yes="Finish",
                                     no="Not yet"), lambda yes: yes and self.finish())

    def finish(self) -> None:
        self.show_step("done")
        failed = wizard.failed_steps(self.state, self.settings)
        if failed:
            self.notify(notification(f"Setup ended with steps that failed: {'; '.join(failed)}"), severity="warning", timeout=10,
                        markup=False)
        else:
            self.notify("Setup finished: every step succeeded")

    def action_start_over(self) -> None:
        self.state = wizard.WizardState(backend=self.state.backend, models=self.state.models)
        self.show_step("backend")
