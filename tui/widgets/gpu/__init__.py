"""The GPU status pane (tui.gpu samples; these widgets show it)."""

from tui.widgets.gpu.pane import SLOT_ID, GpuPane, gpus_found, toggle_gpu_pane

__all__ = ["SLOT_ID", "GpuPane", "gpus_found", "toggle_gpu_pane"]
