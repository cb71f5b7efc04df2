# Renders the OpenAPI document from openapi.yaml.tftpl and templates/*.vtl. This module has no resources, so
# the tests render exactly the deployed document by applying it alone (tests/api, books_local.apigateway).

locals {
  templates_dir = "${path.module}/templates"

  # A domain endpoint is <prefix>.<region>.es.amazonaws.com; the AWS integration URI names it "<prefix>.es".
  opensearch_subdomain = split(".", var.opensearch_domain_endpoint)[0]
  search_uri           = "arn:${var.partition}:apigateway:${var.region}:${local.opensearch_subdomain}.es:path/${var.opensearch_index}/_search"
  dynamodb_uri = {
    for action in ["TransactWriteItems", "GetItem", "UpdateItem", "DeleteItem", "Scan"] :
    action => "arn:${var.partition}:apigateway:${var.region}:dynamodb:action/${action}"
  }

  # API Gateway has no #parse, so the plain-JSON form of a stored book is inlined where it is needed.
  book = { for name, root in { item = "$.Item", attributes = "$.Attributes", page = "$.Items[$foreach.index]" } :
    name => templatefile("${local.templates_dir}/book.vtl.tftpl", { root = root })
  }
  not_found = "#set($context.responseOverride.status = 404)\n{\"error\": {\"code\": \"NOT_FOUND\", \"message\": \"No book has this id.\"}}"
  # What a DynamoDB ValidationException means per operation: $problem names the offending field.
  key_or_item_problem = join("\n", [
    "#set($dynamodbMessage = \"$!input.path('$.message')\")",
    "#if($dynamodbMessage.contains(\"key\"))",
    "#set($problem = \"id must be at most 2048 bytes of UTF-8 (the DynamoDB partition key limit).\")",
    "#else",
    "#set($problem = \"The book is larger than the DynamoDB item limit of 400 KB.\")",
    "#end",
  ])
  list_books_params = templatefile("${local.templates_dir}/list_books_params.vtl.tftpl", var.limits)
  if_match          = file("${local.templates_dir}/if_match.vtl")
  search_params     = templatefile("${local.templates_dir}/search_params.vtl.tftpl", var.limits)
  dynamodb_error = {
    for name, values in {
      book = { conditional_failed = local.not_found, validation = local.key_or_item_problem }
      update_book = {
        conditional_failed = "${local.if_match}\n${file("${local.templates_dir}/update_book.conflict.vtl")}"
        validation         = "${local.if_match}\n#if($problem == \"\")\n${local.key_or_item_problem}\n#end"
      }
      list_books = {
        conditional_failed = "#set($context.responseOverride.status = 500)\n{\"error\": {\"code\": \"INTERNAL_ERROR\", \"message\": \"The request could not be completed.\"}}"
        validation         = "${local.list_books_params}\n#if($problem == \"\")\n#set($problem = \"Invalid page request.\")\n#end"
      }
    } : name => templatefile("${local.templates_dir}/dynamodb_error.vtl.tftpl", values)
  }

  # POST /books: the new book's id, which no client can set (create_book.request.vtl.tftpl), and the optional
  # Idempotency-Key, scoped to the caller API Gateway authenticated: the signer's ARN (AWS_IAM) or the API key's
  # id (API_KEY); without authorization there is no caller to scope keys to, so a key is refused.
  new_book_id = "#set($id = $context.extendedRequestId.replaceAll(\"[+]\", \"-\").replaceAll(\"/\", \"_\"))"
  idempotency_scope = {
    AWS_IAM = "$!context.identity.userArn"
    API_KEY = "$!context.identity.apiKeyId"
    NONE    = ""
  }
  idempotency_key = templatefile("${local.templates_dir}/idempotency_key.vtl.tftpl", {
    scope          = local.idempotency_scope[var.authorization]
    key_max_length = 255
  })
  create_book = {
    table_name             = var.table_name
    idempotency_table_name = var.idempotency_table_name
    ttl_seconds            = var.idempotency_key_ttl_hours * 3600
    ttl_hours              = var.idempotency_key_ttl_hours
    idempotency_key        = local.idempotency_key
    new_book_id            = local.new_book_id
  }

  template_variables = merge(var.limits, { table_name = var.table_name })
  plain_templates = {
    create_book_request  = templatefile("${local.templates_dir}/create_book.request.vtl.tftpl", local.create_book)
    create_book_response = templatefile("${local.templates_dir}/create_book.response.vtl.tftpl", local.create_book)
    create_book_error    = templatefile("${local.templates_dir}/create_book.error.vtl.tftpl", local.create_book)
    get_book_request     = templatefile("${local.templates_dir}/get_book.request.vtl", local.template_variables)
    get_book_response    = templatefile("${local.templates_dir}/get_book.response.vtl", { book = local.book.item })
    update_book_request  = templatefile("${local.templates_dir}/update_book.request.vtl", merge(local.template_variables, { if_match = local.if_match }))
    update_book_error    = local.dynamodb_error.update_book
    update_book_response = templatefile("${local.templates_dir}/update_book.response.vtl", { book = local.book.attributes })
    delete_book_request  = templatefile("${local.templates_dir}/delete_book.request.vtl", local.template_variables)
    delete_book_response = file("${local.templates_dir}/delete_book.response.vtl")
    book_error           = local.dynamodb_error.book
    list_books_request   = templatefile("${local.templates_dir}/list_books.request.vtl", merge(local.template_variables, { params = local.list_books_params }))
    list_books_response  = templatefile("${local.templates_dir}/list_books.response.vtl", { book = local.book.page })
    list_books_error     = local.dynamodb_error.list_books
    search_request       = templatefile("${local.templates_dir}/search.request.vtl", merge(local.template_variables, { params = local.search_params }))
    search_response      = file("${local.templates_dir}/search.response.vtl")
    search_error         = templatefile("${local.templates_dir}/search_error.vtl.tftpl", { params = local.search_params })
    server_error         = file("${local.templates_dir}/server_error.vtl")
  }

  # CORS (var.cors, off by default): every response template starts with the origin check, each path gets an
  # OPTIONS preflight, and with a single origin API Gateway's own errors (gateway responses, which are no
  # VTL) name it too. Several origins cannot be named in a static gateway response: a browser then sees API
  # Gateway's own 4xx/5xx (403 unsigned, 429 throttled, ...) as a CORS failure.
  cors_enabled = var.cors != null
  cors = local.cors_enabled ? templatefile("${local.templates_dir}/cors.vtl.tftpl", {
    allow_origins  = var.cors.allow_origins
    expose_headers = join(", ", var.cors.expose_headers)
  }) : ""
  templates = {
    for name, template in local.plain_templates :
    name => local.cors_enabled && !endswith(name, "_request") ? "${local.cors}\n${template}" : template
  }

  # Gateway responses (errors API Gateway answers itself) take simple $context substitution only, no VTL;
  # messageString is already a quoted JSON string. Every 4xx/5xx type inherits these two.
  gateway_error_template = "{\"error\": {\"code\": \"$context.error.responseType\", \"message\": $context.error.messageString}}"
  single_origin          = local.cors_enabled ? (length(var.cors.allow_origins) == 1 ? var.cors.allow_origins[0] : null) : null
  gateway_responses = {
    for type in ["DEFAULT_4XX", "DEFAULT_5XX"] : type => merge(
      { responseTemplates = { "application/json" = local.gateway_error_template } },
      local.single_origin == null ? {} : {
        responseParameters = {
          "gatewayresponse.header.Access-Control-Allow-Origin" = "'${local.single_origin}'"
          "gatewayresponse.header.Vary"                        = "'Origin'"
        }
      },
    )
  }

  # Error responses are inlined rather than $ref'd to components/responses, which API Gateway's importer may not
  # resolve; the schema $ref becomes the Error model.
  error_response = {
    description = "An error, always in the same shape."
    content     = { "application/json" = { schema = { "$ref" = "#/components/schemas/Error" } } }
  }

  security_schemes = {
    AWS_IAM = { sigv4 = { type = "apiKey", name = "Authorization", in = "header", "x-amazon-apigateway-authtype" = "awsSigv4" } }
    API_KEY = { api_key = { type = "apiKey", name = "x-api-key", in = "header" } }
    NONE    = {}
  }

  decoded = yamldecode(templatefile("${path.module}/openapi.yaml.tftpl", {
    title                     = var.title
    description               = var.description
    idempotency_key_ttl_hours = var.idempotency_key_ttl_hours
    limits                    = var.limits
    execution_role_arn        = var.execution_role_arn
    dynamodb_uri              = local.dynamodb_uri
    search_uri                = local.search_uri
    templates                 = local.templates
    gateway_responses         = local.gateway_responses
    error_response            = local.error_response
    security_schemes          = local.security_schemes[var.authorization]
    security                  = [for name in keys(local.security_schemes[var.authorization]) : { (name) = [] }]
  }))

  # With CORS, each path also answers OPTIONS: a mock integration (no backend, no authorization: browsers
  # send preflights without credentials) whose 204 lists the path's methods for a configured origin.
  preflight_headers = {
    for name in ["Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"] :
    name => { schema = { type = "string" } }
  }
  paths = {
    for path, item in local.decoded.paths : path => merge(item, !local.cors_enabled ? {} : {
      options = {
        operationId = "preflight${replace(title(replace(path, "/[^A-Za-z]+/", " ")), " ", "")}"
        summary     = "CORS preflight: the methods and headers a configured origin may use on this path."
        responses   = { "204" = { description = "Preflight answered.", headers = local.preflight_headers } }
        "x-amazon-apigateway-integration" = {
          type                = "mock"
          passthroughBehavior = "when_no_match"
          requestTemplates    = { "application/json" = "{\"statusCode\": 204}" }
          responses = {
            default = {
              statusCode = "204"
              responseTemplates = {
                "application/json" = templatefile("${local.templates_dir}/cors_preflight.vtl.tftpl", {
                  cors            = local.cors
                  allow_methods   = join(", ", concat(sort([for method in keys(item) : upper(method)]), ["OPTIONS"]))
                  allow_headers   = join(", ", var.cors.allow_headers)
                  max_age_seconds = var.cors.max_age_seconds
                })
              }
            }
          }
        }
      }
    })
  }
  document = jsonencode(merge(local.decoded, { paths = local.paths }))
}
