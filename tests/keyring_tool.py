#!/usr/bin/python3
"""Looks into the user's Secret Service keyring for the tests (run as the user).

  keyring_tool.py dump     JSON of every item of the default collection: label, attributes,
                           secret; exit 3 when the collection is locked
  keyring_tool.py lock     locks the default collection (no prompt is involved in locking)
  keyring_tool.py keyring SERVICE USER
                           what Python's keyring library returns for (SERVICE, USER)
  keyring_tool.py edit-refresh SERVICE KEY VALUE
                           rewrites one member of SERVICE's refresh item, as the user could
  keyring_tool.py age-pair SERVICE SECONDS
                           moves the times in SERVICE's refresh item SECONDS into the past, as
                           if the pair had been stored that much earlier: a test clock for the
                           due check, which reads them (no waiting for a token to become due)
"""
import json
import sys

import secretstorage


def default_collection():
    connection = secretstorage.dbus_init()
    return connection, secretstorage.get_default_collection(connection)


def dump():
    connection, collection = default_collection()
    if collection.is_locked():
        return 3
    items = [
        {
            "label": item.get_label(),
            "attributes": item.get_attributes(),
            "secret": item.get_secret().decode("utf-8", "replace"),
        }
        for item in collection.get_all_items()
    ]
    items.sort(key=lambda item: json.dumps(item["attributes"], sort_keys=True))
    json.dump(items, sys.stdout, sort_keys=True, indent=1)
    print()
    connection.close()
    return 0


def lock():
    connection, collection = default_collection()
    collection.lock()
    locked = collection.is_locked()
    connection.close()
    return 0 if locked else 1


def keyring_lookup(service, user):
    import keyring

    value = keyring.get_password(service, user)
    print("" if value is None else value)
    return 0 if value is not None else 1


def edit_refresh(service, key, value):
    import json

    connection, collection = default_collection()
    items = list(collection.search_items({"service": service + "/refresh"}))
    if len(items) != 1:
        return 1
    document = json.loads(items[0].get_secret().decode())
    document[key] = value
    items[0].set_secret(json.dumps(document).encode(), "application/json")
    connection.close()
    return 0


def age_pair(service, seconds):
    connection, collection = default_collection()
    items = list(collection.search_items({"service": service + "/refresh"}))
    if len(items) != 1:
        return 1
    document = json.loads(items[0].get_secret().decode())
    for key in ("obtained_at", "access_expires_at", "refresh_expires_at"):
        if isinstance(document.get(key), int) and document[key] > 0:
            document[key] -= seconds
    items[0].set_secret(json.dumps(document).encode(), "application/json")
    connection.close()
    return 0


def drop_refresh_key(service, key):
    """The refresh item without one key, as an older version wrote it."""
    import json

    connection, collection = default_collection()
    items = list(collection.search_items({"service": service + "/refresh"}))
    if len(items) != 1:
        return 1
    document = json.loads(items[0].get_secret().decode())
    document.pop(key, None)
    items[0].set_secret(json.dumps(document).encode(), "application/json")
    connection.close()
    return 0


def set_access(service, user, value):
    """Another secret in the access item: a pair torn between its two writes."""
    connection, collection = default_collection()
    items = list(collection.search_items({"service": service, "username": user}))
    if len(items) != 1:
        return 1
    items[0].set_secret(value.encode(), "text/plain")
    connection.close()
    return 0


def main(argv):
    if argv[1:] == ["dump"]:
        return dump()
    if argv[1:] == ["lock"]:
        return lock()
    if len(argv) == 5 and argv[1] == "edit-refresh":
        return edit_refresh(argv[2], argv[3], argv[4])
    if len(argv) == 4 and argv[1] == "age-pair":
        return age_pair(argv[2], int(argv[3]))
    if len(argv) == 4 and argv[1] == "drop-refresh-key":
        return drop_refresh_key(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "set-access":
        return set_access(argv[2], argv[3], argv[4])
    if len(argv) == 4 and argv[1] == "keyring":
        return keyring_lookup(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
