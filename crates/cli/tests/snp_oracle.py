"""Oracle driver for the SNP differential tests: runs sev-snp-measure's own command line (sevsnpmeasure.cli.main)
once per case inside one Python process, so that hundreds of cases cost one interpreter start.

stdin: a JSON list of cases, each either
  {"argv": [...], "cwd": "/dir"}   run `sev-snp-measure argv...` in /dir (where --dump-vmsa writes)
  {"metadata": "/path/to/ovmf"}    sevsnpmeasure.ovmf.OVMF's view of a firmware's SEV metadata
stdout: a JSON list of results, {"rc": int, "stdout": str, "stderr": str} or the metadata object.

Nothing here computes a measurement: every value comes from the installed sev-snp-measure package.
"""

import contextlib
import io
import json
import os
import sys

from sevsnpmeasure import cli
from sevsnpmeasure.ovmf import OVMF


def run_cli(argv, cwd):
    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    sys.argv = ["sev-snp-measure"] + argv
    rc = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main()
        except SystemExit as e:  # argparse errors
            rc = e.code if isinstance(e.code, int) else 1
        except Exception as e:  # uncaught errors: the real tool would print a traceback and exit 1
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
            rc = 1
    return {"rc": rc or 0, "stdout": out.getvalue(), "stderr": err.getvalue()}


def metadata(path):
    o = OVMF(path)
    table = o._table
    def u32(guid):
        return int.from_bytes(table[guid][:4], "little") if guid in table else None
    return {
        "sections": [
            {"gpa": d.gpa, "size": d.size, "section_type": d.section_type_int}
            for d in o.metadata_items()
        ],
        "sev_es_reset_eip": u32(OVMF.SEV_ES_RESET_BLOCK_GUID),
        "sev_hashes_table_gpa": u32(OVMF.SEV_HASH_TABLE_RV_GUID),
    }


def main():
    cases = json.load(sys.stdin)
    results = []
    for c in cases:
        if "metadata" in c:
            results.append(metadata(c["metadata"]))
        else:
            results.append(run_cli(c["argv"], c["cwd"]))
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
