# The orders single-table design (README.md, "Single-table designs"), the indexer's ENTITY_CONFIG: one document
# per order in `orders` (its line items, shipments and payment folded in, rebuilt from the order's partition)
# and one per customer in `customers`. Rows (written by `python -m books_local load-orders`):
#   PK=ORDER#<id>     SK=ORDER#<id>       the order:     customerId, status, total, currency, placedAt
#   PK=ORDER#<id>     SK=ITEM#<nn>        a line item:   lineNumber, sku, name, quantity, unitPrice
#   PK=ORDER#<id>     SK=SHIPMENT#<nn>    a shipment:    carrier, trackingNumber, status, shippedAt
#   PK=ORDER#<id>     SK=PAYMENT          the payment:   method, amount, currency, status, cardToken (not indexed)
#   PK=CUSTOMER#<id>  SK=PROFILE          a customer:    name, email, tier, version (its write counter)
locals {
  entities = [
    {
      name        = "order"
      match       = { partition_key_prefix = "ORDER#", sort_key_prefix = "ORDER#" }
      index       = "orders"
      document_id = "partition_key"
      exclude     = ["PK", "SK"]
      children = [
        { name = "line_item", match = { partition_key_prefix = "ORDER#", sort_key_prefix = "ITEM#" }, field = "orderItems", order_by = "lineNumber", exclude = ["PK", "SK"] },
        { name = "shipment", match = { partition_key_prefix = "ORDER#", sort_key_prefix = "SHIPMENT#" }, field = "shipmentInfo", exclude = ["PK"] },
        { name = "payment", match = { partition_key_prefix = "ORDER#", sort_key_prefix = "PAYMENT" }, field = "payment", fold = "section", include = ["method", "amount", "currency", "status"] },
      ]
    },
    { name = "customer", match = { partition_key_prefix = "CUSTOMER#" }, index = "customers", exclude = ["PK", "SK"] },
  ]
}
