"""Validates OSCAL Assessment Results documents with compliance-trestle (NIST's OSCAL model as
pydantic classes, strict: unknown fields, patterns and required fields all enforced), for
scripts/oscal-validate.sh.

    oscal_check.py valid DOC [JSON_REPORT]   # DOC must parse; with the JSON report of the same
                                             # scan, every failed check must be in a finding
    oscal_check.py invalid DOC               # DOC must be refused (the self-test)
"""

import json
import pathlib
import sys

from trestle.oscal.assessment_results import AssessmentResults


def read(path):
    return AssessmentResults.oscal_read(pathlib.Path(path))


def main():
    mode, doc = sys.argv[1], sys.argv[2]
    if mode == "invalid":
        try:
            read(doc)
        except Exception as e:  # pydantic's ValidationError, or trestle's own
            print(f"refused as expected: {doc}: {str(e).splitlines()[0]}")
            return 0
        print(f"ACCEPTED an invalid document: {doc}")
        return 1
    ar = read(doc)
    result = ar.results[0]
    observations = {str(o.uuid): o for o in (result.observations or [])}
    reached = set()
    for f in result.findings or []:
        for rel in f.related_observations or []:
            o = observations[str(rel.observation_uuid)]
            reached.update(p.value for p in o.props or [] if p.name == "check-id")
    version = getattr(ar.metadata.oscal_version, "__root__", ar.metadata.oscal_version)
    line = f"{doc}: valid OSCAL {version}, {len(observations)} observations, " \
           f"{len(result.findings or [])} findings"
    if len(sys.argv) > 3:
        report = json.load(open(sys.argv[3]))
        failed = {r["check_id"] for r in report["results"] if r["status"] == "fail"}
        missing = sorted(failed - reached)
        if missing:
            print(f"{doc}: failed checks in no finding: {missing}")
            return 1
        line += f"; all {len(failed)} failed checks in findings"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
