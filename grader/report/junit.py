"""JUnit XML for CI test reporters (GitHub, GitLab, Jenkins): one test case per check.

A failed check and a submission error are the student's, so both are `<failure>`; a grader
error is ours, so it is an `<error>`: CI dashboards keep the two apart the same way.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from grader.report.text import check_details, format_points
from grader.results import CheckResult, GradeResult

_OUTCOME_TAGS = {
    "failed": "failure",
    "submission_error": "failure",
    "grader_error": "error",
    "skipped": "skipped",
}
# XML 1.0 forbids most control characters; student output (ANSI colours) is full of them.
_NOT_XML = re.compile(r"[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def render(result: GradeResult) -> str:
    """The report of `result` as a JUnit XML document."""
    root = ET.Element("testsuites", name="grader")
    suite = ET.SubElement(root, "testsuite", _suite_attributes(result))
    root.attrib.update({k: suite.attrib[k] for k in ("tests", "failures", "errors", "time")})
    _properties(suite, result)
    for check in result.checks:
        _testcase(suite, result.assignment, check)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write(result: GradeResult, path: Path) -> None:
    """Write the XML to `path` atomically: a CI reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(render(result), encoding="utf-8")
    os.replace(partial, path)


def _suite_attributes(result: GradeResult) -> dict[str, str]:
    tags = Counter(_OUTCOME_TAGS.get(c.status) for c in result.checks)
    return {
        "name": _xml(result.assignment),
        "tests": str(len(result.checks)),
        "failures": str(tags["failure"]),
        "errors": str(tags["error"]),
        "skipped": str(tags["skipped"]),
        "time": f"{result.duration_s:.3f}",
    }


def _properties(suite: ET.Element, result: GradeResult) -> None:
    """Run facts as properties, so nobody takes a quick check on fixture data for a grade."""
    score = "withheld" if result.score is None else format_points(result.score)
    facts = {
        "notebook": result.notebook,
        "profile": result.profile,
        "data_source": result.data_source,
        "device": result.device,
        "isolation": result.isolation,
        "score": score,
        "max_score": format_points(result.max_score),
    }
    properties = ET.SubElement(suite, "properties")
    for name, value in facts.items():
        ET.SubElement(properties, "property", name=name, value=_xml(value))


def _testcase(suite: ET.Element, assignment: str, check: CheckResult) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_xml(f"{assignment}.{check.step}"),
        name=_xml(f"{check.title} [{check.id}]"),
    )
    tag = _OUTCOME_TAGS.get(check.status)
    if tag is None:
        return
    outcome = ET.SubElement(case, tag, message=_xml(check.message))
    if tag != "skipped":
        outcome.set("type", check.status)
        outcome.text = _xml("\n".join([check.message, *check_details(check)]))


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)
