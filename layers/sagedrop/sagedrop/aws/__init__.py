"""Small adapters around boto3 clients. Each receives its client, so tests hand in moto or a Stubber."""
