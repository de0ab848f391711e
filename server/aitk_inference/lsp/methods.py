"""Names on the wire between the server and the extension (see server/README.md)."""

from __future__ import annotations

from typing import Final

# workspace/executeCommand ids (distinct from the extension's user-facing command ids): one per
# entry of the operations table, ``aitk.inference.server.<name>``.
SERVER_COMMAND_PREFIX: Final = "aitk.inference.server."
CMD_PROVISION: Final = "aitk.inference.server.provision"
CMD_DEPLOY: Final = "aitk.inference.server.deploy"
CMD_STATUS: Final = "aitk.inference.server.status"
CMD_API_KEY: Final = "aitk.inference.server.api-key"


def server_command(operation: str) -> str:
    return SERVER_COMMAND_PREFIX + operation


# server -> client requests
PICK: Final = "aitk/pick"
INPUT: Final = "aitk/input"
GET_TOKEN: Final = "aitk/getToken"

# server -> client notifications
COPY_TO_CLIPBOARD: Final = "aitk/copyToClipboard"
SHOW_OUTPUT: Final = "aitk/showOutput"
RUN_PROVISION: Final = "aitk/runProvision"
# The user asked to copy the endpoint's API key: the extension reads it with CMD_API_KEY (the key
# never travels in a notification), keeps it in SecretStorage and copies it.
COPY_API_KEY: Final = "aitk/copyApiKey"
RUN_COMMAND: Final = "aitk/runCommand"  # {"command": "logs"|"start", "workspaceFolder": …}
LOG_LINES: Final = "aitk/logLines"  # {"lines": [str]}: the app's log, for its own output channel
CREATE_PROJECT_FILES: Final = "aitk/createProjectFiles"  # {workspaceFolder}: run the scaffold command
SIGN_IN: Final = "aitk/signIn"  # ask for the Microsoft account again (a new session)
OPEN_SETTINGS: Final = "aitk/openSettings"  # {query}: the Settings editor, filtered

# the value aitk/pick answers when the user chose the "create new" entry
PICK_CREATE_NEW: Final = "$createNew"

# message-request action titles
ACTION_GO_TO_ENDPOINT: Final = "Go to Inference Endpoint"
ACTION_COPY_ENDPOINT: Final = "Copy Endpoint"
ACTION_COPY_API_KEY: Final = "Copy API Key"
ACTION_STREAM_LOGS: Final = "Stream logs"
ACTION_START_APP: Final = "Start app"
ACTION_PROVISION_NOW: Final = "Provision"
ACTION_OPEN_OUTPUT: Final = "Show Output"
ACTION_OPEN_PORTAL: Final = "Open in Portal"
DEPLOYMENT_DONE: Final = "Deployment done."
