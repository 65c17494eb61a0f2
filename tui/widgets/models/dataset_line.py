"""One line on the Models screen: what of the FashionFail dataset is in the cache."""

from __future__ import annotations

from textual import work
from textual.widgets import Static

from tui.dataset import dataset_states, describe_dataset


class DatasetLine(Static):
    """'FashionFail: test: 1001/1001 images · val: no annotations · ...', read in a thread worker."""

    def on_mount(self) -> None:
        self.read_state()

    @work(thread=True, exclusive=True, group="dataset")
    def read_state(self) -> None:
        self.app.call_from_thread(self.update, describe_dataset(dataset_states()))
