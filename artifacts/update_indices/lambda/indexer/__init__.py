"""The books indexer: DynamoDB stream records in, OpenSearch documents out.

One direction, one small module per step (see ``artifacts/update_indices/README.md``)::

    record --changes--> Change --documents--> bulk action --bulk--> ItemResult --batch--> batchItemFailures

``settings`` validates the environment once per cold start, ``client`` builds the OpenSearch client,
``index_setup`` creates the index behind its alias when it is missing, ``versions`` derives the external
version that makes every write idempotent and order-independent.
"""
