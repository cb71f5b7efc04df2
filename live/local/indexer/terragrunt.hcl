# The stream indexer (Lambda): live/_envcommon/indexer.hcl, sized by ../env.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/indexer.hcl"
  expose         = true
  merge_strategy = "deep"
}

# moto answers 500 to every write on a table once a mapping targets an image function, so locally the stream
# is replayed by books_local with the settings of the event_source_mapping output instead.
inputs = {
  create_event_source_mapping = false
}
