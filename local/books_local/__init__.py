"""The books system on one machine: moto, an OpenSearch, the Terraform units of ``live/local``, the
indexer on the table's stream and the REST API on localhost (``python -m books_local up``)."""
