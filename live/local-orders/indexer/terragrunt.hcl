# The stream indexer (Lambda) with the orders design's entities (../entities.hcl): live/_envcommon/indexer.hcl.
include "root" {
  path = find_in_parent_folders("terragrunt.hcl")
}

include "envcommon" {
  path           = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/live/_envcommon/indexer.hcl"
  expose         = true
  merge_strategy = "deep"
}

# As in live/local: moto answers 500 to table writes once a mapping targets an image function, so books_local
# replays the stream with the event_source_mapping output's settings instead.
inputs = {
  create_event_source_mapping = false
  entities                    = read_terragrunt_config(find_in_parent_folders("entities.hcl")).locals.entities
}
