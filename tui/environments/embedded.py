"""The embedded backend: py-rattler solves and installs the conda packages into
`environments_dir()/<family>`, then the environment's own pip installs the `pip:` section.
Needs no conda on the machine."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tui import paths
from tui.environments.base import Action, Backend, StepContext, StepFailed, one_line, remove_tree
from tui.environments.specs import EnvSpec

if TYPE_CHECKING:  # rattler itself is imported where an environment is built (0.1-0.2 s of every start otherwise)
    from rattler import Channel


_UNREACHABLE = re.compile(r"error sending request|tcp connect error|dns error|failed to lookup address|"
                          r"connection refused|network is unreachable|operation timed out", re.IGNORECASE)
"""How rattler's HTTP client says, somewhere down its chain of causes, that a channel cannot be reached."""


def _step_failed(exc: Exception, channels: list[Channel], context: StepContext) -> StepFailed:
    """rattler's error as one short line for the user; its whole chain of causes goes to the log. A
    channel that cannot be reached is said so, not as the HTTP client's six levels of causes."""
    text = str(exc)
    for line in text.splitlines():
        context.line(line)
    if _UNREACHABLE.search(text):
        named = [c.name for c in channels if str(c.base_url) in text] or [c.name for c in channels]
        return StepFailed(f"cannot reach {', '.join(named)} (no network?)")
    return StepFailed(one_line(exc))


class _InstallProgress:
    """py-rattler's installer callbacks, turned into step progress and log lines."""

    def __init__(self, context: StepContext):
        self.context, self.total, self.done = context, 0, 0

    def on_transaction_start(self, total_operations: int) -> None:
        self.total = total_operations
        self.context.line(f"{total_operations} package operation(s)")

    def on_link_start(self, operation: int, package_name: str) -> int:
        self.context.line(f"linking {package_name}")
        return operation

    def on_transaction_operation_complete(self, operation: int) -> None:
        self.done += 1
        if self.total:
            self.context.progress(self.done / self.total)


class EmbeddedBackend(Backend):
    name = "embedded"

    def prefix_for(self, spec: EnvSpec) -> Path:
        return paths.environments_dir() / spec.family

    def channels(self, spec: EnvSpec) -> list[Channel]:
        """The spec's channels, or the config's `channels`; bare names resolve against `channel_alias`."""
        from rattler import Channel, ChannelConfig

        config = ChannelConfig(channel_alias=self.config.channel_alias) if self.config.channel_alias else None
        return [Channel(name, config) for name in (self.config.channels or spec.channels)]

    def package_steps(self, spec: EnvSpec, updating: bool) -> list[tuple[str, Action]]:
        steps = [("solve the conda packages", lambda context: self._solve(spec, context)),
                 ("install the conda packages", lambda context: self._install(spec, context, updating))]
        if spec.pip:
            steps.append(("install the pip packages", lambda context: self._pip(spec, context)))
        return steps

    def delete(self, spec: EnvSpec, context: StepContext) -> None:
        remove_tree(self.prefix_for(spec), context)

    def _solve(self, spec: EnvSpec, context: StepContext) -> None:
        import rattler
        from rattler import Subdir, VirtualPackage

        channels = self.channels(spec)
        context.line("channels: " + ", ".join(str(c.base_url) for c in channels))
        context.line("specs: " + ", ".join(spec.conda))
        try:
            records = asyncio.run(rattler.solve(
                channels, list(spec.conda), platforms=[Subdir.current(), Subdir("noarch")],
                virtual_packages=VirtualPackage.detect()))
        except Exception as exc:  # rattler raises its own exception types (SolverError, GatewayError, ...)
            raise _step_failed(exc, channels, context) from None
        for record in records:
            context.line(f"  {record.name.normalized} {record.version} {record.build} ({record.channel})")
        context.carry["records"] = records

    def _install(self, spec: EnvSpec, context: StepContext, updating: bool) -> None:
        import rattler

        records = context.carry["records"]
        prefix = self.prefix_for(spec)
        try:
            asyncio.run(rattler.install(
                records, prefix, cache_dir=paths.cache_dir() / "conda-pkgs", show_progress=False,
                reporter=_InstallProgress(context),
                # an update also repairs: relink every package, so files deleted by hand come back
                reinstall_packages={r.name.normalized for r in records} if updating else None))
        except Exception as exc:  # rattler's install errors are plain exceptions with a cause chain
            raise _step_failed(exc, self.channels(spec), context) from None
        (prefix / ".fashionfail").mkdir(exist_ok=True)

    def _pip(self, spec: EnvSpec, context: StepContext) -> None:
        prefix = self.prefix_for(spec)
        requirements = prefix / ".fashionfail" / "requirements.txt"
        requirements.write_text("\n".join(spec.pip) + "\n", encoding="utf-8")
        context.run([str(prefix / "bin" / "python"), "-m", "pip", "install", "-r", str(requirements)])

