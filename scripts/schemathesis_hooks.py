"""schemathesis hooks for scripts/api-fuzz.sh.

A custom check: while fuzzing as a viewer (PALISADE_FUZZ_ROLE=viewer), no write operation may
answer 2xx. Logging out, changing its own password and managing its own sessions and tokens
(never above its role) are the viewer's own business and allowed.
"""

import os

import schemathesis

SELF_SERVICE = {"logout", "change_password", "revoke_session", "create_token", "revoke_token"}


@schemathesis.check
def viewer_never_writes(ctx, response, case):
    if os.environ.get("PALISADE_FUZZ_ROLE") != "viewer":
        return None
    if case.method.upper() == "GET" or case.operation.definition.raw.get("operationId") in SELF_SERVICE:
        return None
    if 200 <= response.status_code < 300:
        raise AssertionError(
            f"a viewer got {response.status_code} on {case.method.upper()} {case.formatted_path}"
        )
    return None
