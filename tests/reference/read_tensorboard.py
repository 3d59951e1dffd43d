"""Reads a folder of TensorBoard event files with the real `tensorboard` package, run at
test time by tests/unit/tensorboard_test.cpp.

Two readers, both TensorBoard's own code:
  * EventAccumulator (what the TensorBoard server uses): every scalar tag with its
    (step, value) pairs;
  * the record layer (tensorboard's TFRecord reader stub + event_pb2): every record's
    length and data CRCs are checked and each payload parsed as an Event.

Prints one JSON object:
  {"files": [names], "records": N, "file_version": "brain.Event:2",
   "scalars": {tag: [[step, value], ...]}}

Usage: python read_tensorboard.py DIR
"""
import json
import os
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c


def read_records(path):
    """Every record's payload, after checking both of its CRCs (an error if one is wrong)."""
    payloads = []
    with open(path, "rb") as f:
        data = f.read()
    offset = 0
    while offset < len(data):
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if masked_crc32c(header) != length_crc:
            raise AssertionError(f"{path}: bad length CRC at offset {offset}")
        payload = data[offset + 12:offset + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])
        if len(payload) != length or masked_crc32c(payload) != payload_crc:
            raise AssertionError(f"{path}: bad data CRC at offset {offset}")
        payloads.append(payload)
        offset += 16 + length
    return payloads


def main():
    folder = sys.argv[1]
    files = sorted(n for n in os.listdir(folder) if n.startswith("events.out.tfevents."))
    records = 0
    file_version = None
    for name in files:
        for i, payload in enumerate(read_records(os.path.join(folder, name))):
            event = event_pb2.Event()
            event.ParseFromString(payload)
            if i == 0:
                file_version = event.file_version
            records += 1

    accumulator = event_accumulator.EventAccumulator(folder, size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    scalars = {}
    for tag in accumulator.Tags()["scalars"]:
        scalars[tag] = [[e.step, e.value] for e in accumulator.Scalars(tag)]
    print(json.dumps({"files": files, "records": records, "file_version": file_version, "scalars": scalars}))


if __name__ == "__main__":
    main()
