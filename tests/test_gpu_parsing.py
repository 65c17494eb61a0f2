"""nvidia-smi's CSV output, parsed from the real H200 files in tests/fixtures/gpu/, and checked
against what the same card printed in its other formats (XML, the table, dmon, pmon)."""

import re
import xml.etree.ElementTree as ET

import pytest

from gpu_standins import FIXTURES, H200_UUID, RECORDED_QUERY_GPU_FIELDS
from tui.gpu.smi import attach_processes, parse_number, parse_query_apps, parse_query_gpu

MIB = 1024 * 1024
RECORDED = tuple(RECORDED_QUERY_GPU_FIELDS)


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_idle_with_units_and_header():
    [gpu] = parse_query_gpu(read("query-gpu-idle.csv"), fields=None)
    assert (gpu.index, gpu.name, gpu.uuid) == (0, "NVIDIA H200", H200_UUID)
    assert (gpu.utilization_gpu, gpu.utilization_memory) == (0, 0)
    assert (gpu.memory_used, gpu.memory_total) == (0, 143771 * MIB)
    assert (gpu.temperature, gpu.power_draw, gpu.power_limit) == (42, 130.58, 700.0)
    assert (gpu.sm_clock, gpu.pstate) == (1980, "P0")
    assert gpu.fan is None, "[N/A] fan is absent, not 0"
    assert gpu.processes == ()


def test_idle_without_units_reads_the_same_as_with_units():
    with_units = parse_query_gpu(read("query-gpu-idle.csv"), fields=None)
    assert parse_query_gpu(read("query-gpu-idle-nounits.csv"), fields=RECORDED) == with_units


def test_load_without_units():
    [gpu] = parse_query_gpu(read("query-gpu-load-nounits.csv"), fields=RECORDED)
    assert (gpu.utilization_gpu, gpu.utilization_memory) == (98, 23)
    assert (gpu.memory_used, gpu.memory_total) == (21455 * MIB, 143771 * MIB)
    assert gpu.memory_percent == pytest.approx(14.92, abs=0.01)
    assert (gpu.temperature, gpu.power_draw, gpu.power_limit, gpu.sm_clock) == (61, 692.12, 700.0, 1455)
    assert gpu.fan is None


def test_fields_are_found_by_name_whatever_the_order():
    line = read("query-gpu-load-nounits.csv").strip()
    reordered = ", ".join(reversed(line.split(", ")))
    assert parse_query_gpu(reordered, fields=RECORDED[::-1]) == parse_query_gpu(line, fields=RECORDED)


def test_compute_apps_idle_is_empty_and_load_has_the_python_process():
    assert parse_query_apps(read("query-apps-idle.csv")) == []
    [(uuid, process)] = parse_query_apps(read("query-apps-load.csv"))
    assert uuid == H200_UUID
    assert (process.pid, process.name, process.memory_used) == (452, "python3", 21446 * MIB)
    assert process.memory_used / 1024 ** 3 == pytest.approx(20.94, abs=0.01)


def test_processes_land_on_the_gpu_with_their_uuid():
    gpus = parse_query_gpu(read("query-gpu-load-nounits.csv"), fields=RECORDED)
    [gpu] = attach_processes(gpus, parse_query_apps(read("query-apps-load.csv")))
    assert [p.pid for p in gpu.processes] == [452]
    [elsewhere] = attach_processes(gpus, [("GPU-other", gpu.processes[0])])
    assert elsewhere.processes == ()


@pytest.mark.parametrize("cell", ["[N/A]", "[Not Supported]", "[Unknown Error]", "N/A", "", "  "])
def test_unsupported_cells_are_absent(cell):
    assert parse_number(cell) is None


def test_a_process_name_with_commas_is_kept_whole():
    [(_, process)] = parse_query_apps(f"7, python3 train.py --a 1, b, 512, {H200_UUID}\n")
    assert (process.pid, process.name, process.memory_used) == (7, "python3 train.py --a 1, b", 512 * MIB)


@pytest.mark.parametrize("state", ["idle", "load"])
def test_csv_agrees_with_the_xml_report_of_the_same_moment(state):
    """nvidia-smi-q-{state}.xml (`nvidia-smi -q -x`) was printed with the CSV: the figures must match."""
    gpu_xml = ET.parse(FIXTURES / f"nvidia-smi-q-{state}.xml").getroot().find("gpu")
    [gpu] = parse_query_gpu(read(f"query-gpu-{state}-nounits.csv"), fields=RECORDED)
    assert gpu.name == gpu_xml.findtext("product_name")
    assert gpu.uuid == gpu_xml.findtext("uuid")
    assert gpu.pstate == gpu_xml.findtext("performance_state")
    assert gpu_xml.findtext("fan_speed") == "N/A" and gpu.fan is None
    assert gpu.memory_used == parse_number(gpu_xml.findtext("fb_memory_usage/used")) * MIB
    assert gpu.memory_total == parse_number(gpu_xml.findtext("fb_memory_usage/total")) * MIB
    assert gpu.utilization_gpu == parse_number(gpu_xml.findtext("utilization/gpu_util"))
    assert gpu.temperature == parse_number(gpu_xml.findtext("temperature/gpu_temp"))
    assert gpu.power_limit == parse_number(gpu_xml.findtext("gpu_power_readings/current_power_limit"))
    xml_processes = [(int(p.findtext("pid")), p.findtext("process_name"), parse_number(p.findtext("used_memory")) * MIB)
                     for p in gpu_xml.iterfind("processes/process_info")]
    csv_processes = [(p.pid, p.name, p.memory_used) for _, p in parse_query_apps(read(f"query-apps-{state}.csv"))]
    assert csv_processes == xml_processes


@pytest.mark.parametrize("state", ["idle", "load"])
def test_csv_agrees_with_the_nvidia_smi_table(state):
    """nvidia-smi-{state}.txt is the plain `nvidia-smi` table printed at the same moment."""
    table = read(f"nvidia-smi-{state}.txt")
    fan, temp, pstate, watts, used, total, util = re.search(
        r"\|\s+(\S+)\s+(\d+)C\s+(P\d+)\s+(\d+)W /\s+\d+W \|\s+(\d+)MiB /\s+(\d+)MiB \|\s+(\d+)%", table).groups()
    [gpu] = parse_query_gpu(read(f"query-gpu-{state}-nounits.csv"), fields=RECORDED)
    assert fan == "N/A" and gpu.fan is None
    assert (gpu.temperature, gpu.pstate) == (int(temp), pstate)
    assert abs(gpu.power_draw - int(watts)) < 5, "power is read again for each format, so it moves a little"
    assert (gpu.memory_used, gpu.memory_total, gpu.utilization_gpu) == (int(used) * MIB, int(total) * MIB, int(util))
    table_processes = [(int(pid), name, int(mib) * MIB) for pid, name, mib in
                       re.findall(r"\|\s+\d+\s+\S+\s+\S+\s+(\d+)\s+C\s+(\S+)\s+(\d+)MiB \|", table)]
    assert table_processes == [(p.pid, p.name, p.memory_used) for _, p in parse_query_apps(read(f"query-apps-{state}.csv"))]


def test_dmon_and_pmon_show_the_same_load():
    """dmon-load.txt and pmon-load.txt were sampled during the same load: the same process and levels."""
    [gpu] = parse_query_gpu(read("query-gpu-load-nounits.csv"), fields=RECORDED)
    dmon = [line.split() for line in read("dmon-load.txt").splitlines() if line and not line.startswith("#")]
    assert all(abs(int(row[1]) - gpu.power_draw) < 5 and int(row[4]) == gpu.utilization_gpu for row in dmon)
    pmon = {(int(row[1]), row[-1]) for row in (line.split() for line in read("pmon-load.txt").splitlines())
            if row[0] != "#"}
    assert pmon == {(p.pid, p.name) for _, p in parse_query_apps(read("query-apps-load.csv"))}
