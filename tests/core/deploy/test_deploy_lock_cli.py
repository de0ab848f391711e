"""Two ``aitk-inference deploy`` processes on one project at once (CI and a laptop): one writer."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from tests.azure_emulator.server import Emulator
from tests.core.cli_helpers import provision_cli, run_cli, start_cli


def test_two_concurrent_cli_deploys_never_interleave(emulator: Emulator, project: Path) -> None:
    provisioned = provision_cli(emulator, project, "rg-two")
    assert provisioned.returncode == 0, provisioned.stderr
    config = json.loads((project / "infra" / "inference.config.json").read_text())
    share = config["FILE_SHARE_NAME"]
    # The first deploy's upload is slow (a busy network): it holds the share for 8 seconds.
    # (its first file write under inference/: a small file's Create File, which carries its bytes)
    slow = emulator.faults.add(
        kind="delay", service="file", method="PUT", path=r"/inference/", delay_seconds=8.0
    )
    first = start_cli(emulator, "deploy", "--project", str(project), "--timeout", "60")
    deadline = time.monotonic() + 60
    while slow.seen == 0:  # the first deploy is uploading, so it holds the lock
        assert time.monotonic() < deadline and first.poll() is None, first.stderr
        time.sleep(0.05)

    patient = start_cli(emulator, "deploy", "--project", str(project), "--timeout", "60")
    impatient = run_cli(emulator, "deploy", "--project", str(project), "--lock-wait", "1")
    first_out, first_err = first.communicate(timeout=120)
    patient_out, patient_err = patient.communicate(timeout=120)

    assert impatient.returncode == 1
    holder = rf"root@[^ ]+ \(pid {first.pid}\), started \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
    assert re.search(
        rf"^aitk-inference deploy failed: Another deploy is writing to file share '{share}': {holder}, last heartbeat \d+s "
        r"ago\. Waited 1s for it to finish\. Deploy again once it is done\. A deploy that crashed lets go "
        r"of the share 90s after its last heartbeat\.$",
        impatient.stderr,
        re.MULTILINE,
    ), impatient.stderr
    assert first.returncode == 0, first_err
    assert patient.returncode == 0, patient_err
    assert re.search(
        rf"^Waiting up to 120s for another deploy to finish writing to file share '{share}': {holder}\.$",
        patient_err,
        re.MULTILINE,
    ), patient_err
    for err in (first_err, patient_err):  # neither one deleted the other's in-flight uploads
        assert "does not exist" not in err and "Deleted" not in err
    assert "Inference endpoint" in first_out and "Inference endpoint" in patient_out
