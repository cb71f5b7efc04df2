locals {
  create      = var.create
  provisioned = var.billing_mode == "PROVISIONED"

  # Key attributes are the only ones a table must declare; everything else is schemaless.
  attributes = concat(
    [{ name = var.hash_key, type = var.hash_key_type }],
    var.range_key == null ? [] : [{ name = var.range_key, type = var.range_key_type }],
  )
}

resource "aws_dynamodb_table" "this" {
  # checkov:skip=CKV_AWS_119:The AWS owned key encrypts at rest by default; a customer managed key is the kms_key_arn input (it costs per key and per call).
  count = local.create ? 1 : 0

  name         = var.name
  billing_mode = var.billing_mode
  hash_key     = var.hash_key
  range_key    = var.range_key

  # Capacity only means something for PROVISIONED; AWS rejects it for PAY_PER_REQUEST.
  read_capacity  = local.provisioned ? var.read_capacity : null
  write_capacity = local.provisioned ? var.write_capacity : null

  dynamic "attribute" {
    for_each = local.attributes
    content {
      name = attribute.value.name
      type = attribute.value.type
    }
  }

  # The indexer reads this stream: it needs the new image for upserts and the keys for deletes.
  stream_enabled   = true
  stream_view_type = var.stream_view_type

  point_in_time_recovery {
    enabled = var.point_in_time_recovery_enabled
  }

  # Without a key ARN the table uses the AWS owned key (encryption at rest is always on in DynamoDB);
  # with one, the customer managed key encrypts it.
  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }

  dynamic "ttl" {
    for_each = var.ttl_attribute_name == null ? [] : [var.ttl_attribute_name]
    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  deletion_protection_enabled = var.deletion_protection_enabled

  tags = merge(var.tags, { Name = var.name })
}
