"""A real AWS SDK (boto3) for the end-to-end tests: one IVS client against --endpoint, driven by
JSON lines on stdin.

Each request line is {"op": "CreateChannel", "params": {...}}; each answer line is
{"ok": <the parsed response, ResponseMetadata dropped>} or
{"error": {"code": ..., "message": ..., "status": ...}}. Timestamps come back as ISO-8601 text.
boto3's own parameter validation is off, so the server's checks are what the tests see.
"""

import datetime
import json
import sys

import boto3
import botocore.config
import botocore.exceptions


def main():
    endpoint, access_key, secret_key = sys.argv[1], sys.argv[2], sys.argv[3]
    client = boto3.client(
        "ivs",
        endpoint_url=endpoint,
        region_name="us-west-2",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=botocore.config.Config(
            parameter_validation=False, retries={"max_attempts": 1}
        ),
    )
    names = client.meta.method_to_api_mapping
    methods = {api: method for method, api in names.items()}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            method = getattr(client, methods[request["op"]])
            response = method(**request.get("params", {}))
            response.pop("ResponseMetadata", None)
            answer = {"ok": response}
        except botocore.exceptions.ClientError as err:
            answer = {
                "error": {
                    "code": err.response["Error"]["Code"],
                    "message": err.response["Error"].get("Message", ""),
                    "status": err.response["ResponseMetadata"]["HTTPStatusCode"],
                }
            }
        except Exception as err:  # a response the SDK cannot parse, for example
            answer = {"error": {"code": "SdkFailure", "message": repr(err), "status": 0}}
        print(json.dumps(answer, default=iso), flush=True)


def iso(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"cannot serialise {type(value)}")


if __name__ == "__main__":
    main()
