#!/usr/bin/python3
"""A desktop notification server for the tests: owns org.freedesktop.Notifications on the
session bus (DBUS_SESSION_BUS_ADDRESS) and records every Notify call as one JSON line.

  notification_server.py RECORD-FILE READY-FILE
      READY-FILE is created once the name is owned; runs until killed.
"""
import json
import sys

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

NAME = "org.freedesktop.Notifications"
DO_NOT_QUEUE = 4
PRIMARY_OWNER = 1


def main(record_path, ready_path):
    connection = open_dbus_connection(bus="SESSION")
    reply = connection.send_and_get_reply(message_bus.RequestName(NAME, DO_NOT_QUEUE))
    if reply.body[0] != PRIMARY_OWNER:
        sys.exit(f"cannot own {NAME}: {reply.body[0]}")
    open(ready_path, "w").close()
    count = 0
    while True:
        message = connection.receive()
        if message.header.message_type != MessageType.method_call:
            continue
        member = message.header.fields.get(HeaderFields.member)
        if member == "Notify":
            count += 1
            app, replaces, icon, summary, body, actions, hints, timeout = message.body
            with open(record_path, "a", encoding="utf-8") as record:
                record.write(json.dumps({"app": app, "icon": icon, "summary": summary,
                                         "body": body, "hints": sorted(hints)}) + "\n")
            connection.send(new_method_return(message, "u", (count,)))
        elif member == "GetCapabilities":
            connection.send(new_method_return(message, "as", (["body"],)))
        else:
            connection.send(new_error(message, "org.freedesktop.DBus.Error.UnknownMethod"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
