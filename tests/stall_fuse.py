#!/usr/bin/python3
"""A FUSE filesystem that never answers, mounted by an unprivileged user with fusermount3 as
any user can where fuse3 is installed. It answers INIT, then reads every request and answers
none: a process that touches the mount sleeps in the kernel, and SIGKILL does not wake it
(the request was already read). Killing this server ends the connection and frees them.

    stall_fuse.py MOUNTPOINT READY-FILE

READY-FILE is written once the mount works; then it holds every request until killed."""
import os
import socket
import struct
import subprocess
import sys

FUSE_INIT = 26
IN_HEADER = struct.Struct("<IIQQIIII")  # len, opcode, unique, nodeid, uid, gid, pid, padding
OUT_HEADER = struct.Struct("<IiQ")  # len, error, unique
# major, minor, max_readahead, flags, max_background, congestion_threshold, max_write,
# time_gran, max_pages, map_alignment, flags2, 7 unused
INIT_OUT = struct.Struct("<IIIIHHIIHHI7I")


def mount(mountpoint):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    environment = dict(os.environ, _FUSE_COMMFD=str(theirs.fileno()))
    subprocess.run(["fusermount3", "-o", "fsname=stall,subtype=stall", "--", mountpoint],
                   env=environment, pass_fds=(theirs.fileno(),), check=True)
    _, fds, _, _ = socket.recv_fds(ours, 1, 1)
    return fds[0]


def answer_init(fuse):
    request = os.read(fuse, 1 << 20)
    _, opcode, unique, *_ = IN_HEADER.unpack_from(request)
    if opcode != FUSE_INIT:
        sys.exit(f"expected INIT, got opcode {opcode}")
    body = INIT_OUT.pack(7, 31, 65536, 0, 16, 12, 65536, 1, 0, 0, 0, *([0] * 7))
    os.write(fuse, OUT_HEADER.pack(OUT_HEADER.size + len(body), 0, unique) + body)


def main():
    mountpoint, ready = sys.argv[1:3]
    fuse = mount(mountpoint)
    answer_init(fuse)
    with open(ready, "w") as marker:
        marker.write(f"{os.getpid()}\n")
    held = []
    while True:  # every request read, none answered
        held.append(os.read(fuse, 1 << 20))


main()
