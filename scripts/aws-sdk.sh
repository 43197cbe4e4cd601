#!/usr/bin/env bash
# The AWS SDK the API tests drive the server with: boto3 (and the AWS CLI, for trying the API by
# hand) from PyPI in target/aws-venv, installed once. Source this file and call install_aws_sdk;
# it exports IVS_RECORDER_AWS_PYTHON, the interpreter that has boto3.

AWS_VENV=${AWS_VENV:-target/aws-venv}

install_aws_sdk() {
  if [ ! -x "$AWS_VENV/bin/aws" ] || ! "$AWS_VENV/bin/python" -c "import boto3" 2>/dev/null; then
    python3 -m venv "$AWS_VENV"
    "$AWS_VENV/bin/pip" install --quiet --disable-pip-version-check boto3 awscli
  fi
  IVS_RECORDER_AWS_PYTHON="$(cd "$(dirname "$AWS_VENV/bin/python")" && pwd)/python"
  export IVS_RECORDER_AWS_PYTHON
}
