"""Column widths for narrow tables (tui.widgets.fitted_table.fitted_widths): numbers keep their width,
the text column gives way, and no column is ever half in sight."""

from hypothesis import given
from hypothesis import strategies as st

from tui.widgets.fitted_table import clipped, content_width, fitted_widths

PAD = 1  # DataTable's cell_padding: one cell each side


def ends(widths):
    """Where each column ends, padding included."""
    total, out = 0, []
    for width in widths:
        total += width + 2 * PAD
        out.append(total)
    return out


def test_everything_fits_at_its_natural_width():
    assert fitted_widths([9, 3, 3], 40, PAD, text_column=0) == [9, 3, 3]


def test_the_text_column_gives_way_so_the_counts_stay_in_sight():
    # the browser's image list at 80 columns: a long name, two counts, 33 cells in sight
    assert fitted_widths([30, 3, 3], 33, PAD, text_column=0) == [21, 3, 3]
    assert ends([21, 3, 3])[-1] == 33


def test_a_column_that_does_not_fit_starts_at_the_edge_and_the_text_column_takes_the_gap():
    # the comparison table at 80 columns: a label and five `box | mask` columns
    widths = fitted_widths([24, 13, 13, 13, 13, 13], 78, PAD, text_column=0)
    assert widths[1:] == [13] * 5 and ends(widths)[3] == 78  # three metrics in sight, the fourth starts at 78


def test_the_text_column_keeps_a_quarter_of_the_table():
    widths = fitted_widths([40, 20, 20], 60, PAD, text_column=0)
    assert widths[0] >= 15 and ends(widths)[1] <= 60


def test_without_a_text_column_the_last_column_in_sight_grows():
    assert fitted_widths([5, 5, 30], 20, PAD) == [5, 11, 30]


@given(st.lists(st.integers(0, 40), min_size=1, max_size=8), st.integers(1, 200), st.data())
def test_no_column_is_ever_half_in_sight_and_none_is_narrower_than_its_cells(natural, available, data):
    text_column = data.draw(st.one_of(st.none(), st.integers(0, len(natural) - 1)))
    widths = fitted_widths(natural, available, PAD, text_column)
    starts = [0, *ends(widths)[:-1]]
    for index, (start, end) in enumerate(zip(starts, ends(widths))):
        assert end <= available or start >= available or index == 0, "a column straddles the edge"
        if index != text_column:
            assert widths[index] >= natural[index]


def test_two_line_labels_and_clipped_text():
    assert content_width("mAP_w@.50\nbox | mask", ["45.1 | 40.2"]) == 11
    assert str(clipped("fashionpedia-spinenet-143", 10)) == "fashionpe…"
    assert clipped("short", 10) == "short"
