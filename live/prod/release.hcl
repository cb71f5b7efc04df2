# What prod runs: dev's indexer image by digest, written by `make promote` (from the image dev's function runs)
# and committed, so every prod release is a reviewed change. The placeholder below names no image: a prod apply
# fails in the image unit until the first `make promote`.
locals {
  indexer_image_uri = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/books-dev-indexer@sha256:0000000000000000000000000000000000000000000000000000000000000000"
}
