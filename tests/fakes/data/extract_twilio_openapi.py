#!/usr/bin/env python3
"""Extracts the operations Livecall uses from Twilio's official OpenAPI description.

Input: twilio_api_v2010.json from github.com/twilio/twilio-oai (spec/json, MIT licence, see
twilio-oai.LICENSE beside this script). Output: twilio_api_v2010_livecall.json, the same document
cut down to the paths below, each operation's parameters and form request body kept as published
(descriptions and examples dropped for size; responses dropped). tests/fakes/fake_twilio.cc
validates every request the suite sends against it.

  python3 extract_twilio_openapi.py /path/to/twilio_api_v2010.json > twilio_api_v2010_livecall.json
"""
import json
import sys

PATHS = [
    "/2010-04-01/Accounts/{AccountSid}/Calls.json",
    "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Conferences.json",
    "/2010-04-01/Accounts/{AccountSid}/Conferences/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json",
    "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json",
]
DROP = {"description", "examples", "example", "x-twilio"}


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    spec = json.load(open(sys.argv[1]))
    out = {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"],
                 "x-livecall-source": "twilio/twilio-oai spec/json/twilio_api_v2010.json (MIT); "
                                      "cut down by extract_twilio_openapi.py"},
        "servers": spec.get("servers", []),
        "paths": {},
    }
    for path in PATHS:
        item = {}
        for method, operation in spec["paths"][path].items():
            if method not in ("get", "post", "delete"):
                continue
            kept = {"operationId": operation.get("operationId")}
            if "parameters" in operation:
                kept["parameters"] = strip(operation["parameters"])
            if "requestBody" in operation:
                kept["requestBody"] = strip(operation["requestBody"])
            item[method] = kept
        out["paths"][path] = item
    # The component schemas the kept operations refer to (status enums and the like).
    schemas = spec["components"]["schemas"]
    wanted = set()
    pending = [out["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and ref not in wanted:
                wanted.add(ref)
                pending.append(schemas[ref.rsplit("/", 1)[1]])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    out["components"] = {"schemas": {ref.rsplit("/", 1)[1]: strip(schemas[ref.rsplit("/", 1)[1]])
                                     for ref in sorted(wanted)}}
    json.dump(out, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
