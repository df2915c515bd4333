import pytest

from hgq_automl.parts import UnknownPart, part_family


@pytest.mark.parametrize(
    "part, family",
    [
        ("xcvu9p-flga2104-2L-e", "xcup"),
        ("xcvu13p-flga2577-2-e", "xcup"),
        ("xczu9eg-ffvb1156-2-e", "xcup"),
        ("xcu250-figd2104-2L-e", "xcup"),
        ("xcku115-flvb2104-2-e", "xcu"),
        ("xc7a100t-csg324-1", "xc7"),
        ("xc7z020-clg400-1", "xc7"),
    ],
)
def test_known_parts_map_to_their_yosys_family(part, family):
    assert part_family(part) == family


@pytest.mark.parametrize("part", ["xcvu9p", "10cx220yf780e5g", "xcvp1802-lsvc4072-2MP-e-S", "", "xcvu9p-flga2104"])
def test_unknown_parts_are_refused_on_one_line(part):
    with pytest.raises(UnknownPart) as err:
        part_family(part)
    message = str(err.value)
    assert "\n" not in message and repr(part) in message and "xcvu9p-flga2104-2L-e" in message
