"""The NGINX message catalogue: every message nginx logs at ``warn`` and above.

``extract`` reads an nginx source tree, ``build`` turns the records into the data in
``kb/catalog/`` (with a linear regex per message from ``pattern``), ``lookup`` answers
"which nginx message is this line?" for lines no curated KB entry explains.
"""

SOURCE_FILE = "source.json"
MESSAGES_FILE = "messages.json"
