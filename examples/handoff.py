#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Open a TLS connection through ktlsd, speaking docs/handoff.md without libktls.

Connects to HOST:PORT, has ktlsd run the handshake on the socket, then copies
stdin to the connection and the connection to stdout with plain socket calls:
the kernel encrypts and decrypts. What ktlsd reports goes to stderr.
"""
import argparse, os, socket, struct, sys, threading

MAGIC, VERSION, REQUEST, REPLY, REPLY_MAX = b"KTLS", 1, 1, 2, 128 * 1024
REPLY_TAGS = {1, 4, *range(16, 32)}                # all others below 0x8000 are errors
FIXED_SIZES = {1: 8, 16: 4, 18: 2, 19: 4}          # request id, status, version, cipher
VERSIONS = {0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}
CIPHERS = {1: "aes-128-gcm", 2: "aes-256-gcm", 4: "chacha20-poly1305", 8: "aes-128-ccm"}
SOL_TLS, TLS_SET_RECORD_TYPE, TLS_GET_RECORD_TYPE = 282, 1, 2
ALERT, APPLICATION_DATA, CLOSE_NOTIFY = 21, 23, b"\x01\x00"  # alert: level 1, description 0


def field(tag, value):
    return struct.pack(">HHI", tag, 0, len(value)) + value


def encode_request(request_id, profile, server_name=None):
    body = field(1, struct.pack(">Q", request_id)) + field(2, profile.encode())
    if server_name:
        body += field(3, server_name.encode())
    return struct.pack(">4sBBHI", MAGIC, VERSION, REQUEST, 0, len(body)) + body


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ValueError("ktlsd closed the connection")
        data += chunk
    return data


def parse_reply(header, body):
    """The reply's fields by tag, after the checks docs/handoff.md asks for."""
    magic, version, kind, zero, length = struct.unpack(">4sBBHI", header)
    if (magic, version, kind, zero) != (MAGIC, VERSION, REPLY, 0) or length != len(body):
        raise ValueError("not a version 1 reply")
    fields, off = {}, 0
    while off < len(body):
        if len(body) - off < 8:
            raise ValueError("truncated field")
        tag, zero, length = struct.unpack_from(">HHI", body, off)
        value, off = body[off + 8:off + 8 + length], off + 8 + length
        if zero or off > len(body) or len(value) != FIXED_SIZES.get(tag, len(value)):
            raise ValueError(f"field {tag} is malformed")
        if tag >= 0x8000:
            continue  # optional: a newer ktlsd's hint, ignored
        if tag not in REPLY_TAGS or tag in fields:
            raise ValueError(f"field {tag} is unknown or repeated")
        fields[tag] = value
    if 1 not in fields or 16 not in fields:
        raise ValueError("request id or status missing")
    if fields[16] == bytes(4) and not (18 in fields and 19 in fields):
        raise ValueError("version or cipher missing")
    return fields


def stdin_to(sock):
    try:
        while chunk := os.read(0, 65536):
            sock.sendall(chunk)  # a plain send makes application data records
        # Another record type is sent by naming it in a control message. No
        # shutdown(SHUT_WR): a FIN that reaches a server before it has kTLS
        # installed makes its kernel refuse the connection.
        sock.sendmsg([CLOSE_NOTIFY], [(SOL_TLS, TLS_SET_RECORD_TYPE, bytes([ALERT]))])
    except OSError:
        pass  # the peer went away: the reading side reports it


def copy_to_stdout(sock):
    """A plain read fails with EIO at a non-data record: ask for record types."""
    while True:
        data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(1))
        rtype = next((d[0] for level, kind, d in ancillary
                      if (level, kind) == (SOL_TLS, TLS_GET_RECORD_TYPE)), APPLICATION_DATA)
        if rtype == APPLICATION_DATA:
            if not data:
                return  # the TCP stream ended without close_notify
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        elif rtype == ALERT and data[:2] == CLOSE_NOTIFY:
            return
        elif rtype == ALERT and data[:1] == b"\x02":
            raise ValueError(f"the peer sent fatal alert {data[-1]}")
        # Handshake records (a TLS 1.3 NewSessionTicket) hold nothing for us;
        # following a KeyUpdate would take the secrets of fields 28 and 29.


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", default=os.environ.get("KTLS_HANDOFF_SOCKET")
                    or "/run/ktlsd/handoff.sock", help="ktlsd's handoff socket")
    ap.add_argument("--profile", default="client", help="a client profile of ktlsd")
    ap.add_argument("--server-name", help="SNI and name to verify, if the profile allows")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    args = ap.parse_args()
    try:
        tcp = socket.create_connection((args.host, args.port))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as ktlsd:
            try:
                ktlsd.connect(args.socket)
            except OSError as e:
                raise OSError(f"cannot reach ktlsd at {args.socket}: {e.strerror}") from e
            request = encode_request(1, args.profile, args.server_name)
            # The descriptor rides on the first byte; any rest goes plainly.
            sent = socket.send_fds(ktlsd, [request], [tcp.fileno()])
            ktlsd.sendall(request[sent:])
            header = recv_exactly(ktlsd, 12)
            length = struct.unpack(">I", header[8:])[0]
            if length > REPLY_MAX:
                raise ValueError("reply too long")
            reply = parse_reply(header, recv_exactly(ktlsd, length))
        if reply[1] != struct.pack(">Q", 1):
            raise ValueError("reply to another request")
        status = struct.unpack(">i", reply[16])[0]
        if status:
            why = os.strerror(-status) if -status < 4096 else "libktls error, see docs/handoff.md"
            message = reply.get(17, b"").decode(errors="replace")
            print(f"handoff failed: status {status} ({why}): {message}", file=sys.stderr)
            return 1
        version = VERSIONS.get(struct.unpack(">H", reply[18])[0], "TLS ?")
        cipher = CIPHERS.get(struct.unpack(">I", reply[19])[0], "unknown cipher")
        print(f"handoff: status 0: {version} {cipher}", file=sys.stderr)
        # What the peer sent right after the handshake comes before any read.
        sys.stdout.buffer.write(reply.get(27, b""))
        sys.stdout.buffer.flush()
        threading.Thread(target=stdin_to, args=(tcp,), daemon=True).start()
        copy_to_stdout(tcp)
    except (OSError, ValueError) as e:
        print(f"handoff.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
