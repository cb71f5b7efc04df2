"""The VTL runtime behaves as API Gateway's mapping template reference describes (no servers needed)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from books_local import vtl

BODY = json.dumps(
    {"title": 'a "b" c', "n": 5, "flag": True, "items": [{"x": 1}, {"x": 2}], "obj": {"k": "v"}}
)


def render(template: str, body: str = BODY, **params: dict[str, str]) -> str:
    return vtl.render(template, body=body, params=params).text  # type: ignore[arg-type]


def test_input_json_gives_json_text_so_strings_arrive_quoted_and_escaped() -> None:
    assert render("$input.json('$.title')") == '"a \\"b\\" c"'
    assert render("$input.json('$.n')") == "5"
    assert render("$input.json('$.items')") == '[{"x":1},{"x":2}]'
    assert render("$input.json('$.items[1].x')") == "2"
    assert render("$input.json('$')") == json.dumps(json.loads(BODY), separators=(",", ":"))


def test_input_json_of_a_missing_path_is_empty() -> None:
    assert render("[$input.json('$.missing')]") == "[]"


def test_input_path_gives_objects_templates_can_navigate() -> None:
    assert render("$input.path('$.title')") == 'a "b" c'
    assert render("$input.path('$.items').size()") == "2"
    assert render("$input.path('$').obj.k") == "v"
    assert render("$input.path('$').containsKey('n') $input.path('$').containsKey('zzz')") == "true false"
    assert render("#foreach($i in $input.path('$.items'))$i.x#if($foreach.hasNext),#end#end") == "1,2"


def test_values_print_as_java_does() -> None:
    assert render("$input.path('$.flag')") == "true"
    assert render("$input.path('$.obj')") == "{k=v}"
    assert render("$input.path('$.items')") == '[{"x":1},{"x":2}]'


def test_input_params_looks_in_path_then_query_string_then_headers() -> None:
    """ "$input.params(x): Returns the value of a method request parameter from the path, query string, or
    header value (searched in that order)" (API Gateway mapping template reference,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html)."""
    params = {"path": {"id": "p"}, "querystring": {"id": "q", "q": "x"}, "header": {"X-Key": "h"}}
    assert vtl.render("$input.params('id')", params=params).text == "p"  # type: ignore[arg-type]
    assert vtl.render("$input.params('q')", params=params).text == "x"  # type: ignore[arg-type]
    assert vtl.render("$input.params('x-key')", params=params).text == "h"  # type: ignore[arg-type]
    assert vtl.render("[$input.params('none')]", params=params).text == "[]"  # type: ignore[arg-type]
    assert vtl.render("$input.params().querystring.q", params=params).text == "x"  # type: ignore[arg-type]


def test_input_body_is_the_raw_payload_and_braces_when_empty() -> None:
    assert render("$input.body", body='{"a": 1}') == '{"a": 1}'
    assert render("$input.body", body="") == "{}"


def test_escape_javascript_escapes_single_quotes_invalidly_for_json_as_documented() -> None:
    assert vtl.Util().escapeJavaScript('it\'s "x" \\ /\n') == 'it\\\'s \\"x\\" \\\\ \\/\\n'
    assert vtl.Util().escapeJavaScript("é😀") == "\\u00E9\\uD83D\\uDE00"


def test_documented_replace_all_idiom_restores_single_quotes() -> None:
    template = "$util.escapeJavaScript($input.params('v')).replaceAll(\"\\\\'\", \"'\")"
    for value in ["it's", "a\\'b", "\\\\'", "'''", "x"]:
        text = vtl.render(template, params={"querystring": {"v": value}}).text
        assert json.loads(f'"{text}"') == value


def test_string_literals_are_verbatim_as_in_velocity() -> None:
    assert render('#set($s = "a\\nb")$s') == "a\\nb"
    assert render("#set($s = 'x\\\\y')$s") == "x\\\\y"


def test_only_null_and_false_are_false_as_in_velocity() -> None:
    assert render('#set($e = "")#if($e)true#{else}false#end') == "true"
    assert render("#set($z = 0)#if($z)true#{else}false#end") == "true"
    assert render("#if($input.path('$.missing'))true#{else}false#end") == "false"
    assert render("#if(!$input.path('$.missing') && true)yes#end") == "yes"


def test_java_string_methods() -> None:
    assert render('#set($s = "12a")$s.matches("[0-9]+") $s.matches("[0-9a]+")') == "false true"
    assert render('#set($s = "a-b-c")$s.replaceAll("(-)", "[$1]")') == "a[-]b[-]c"
    assert render('#set($s = "abc")$s.endsWith("bc") $s.length() $s.substring(1)') == "true 3 bc"


def test_util_url_and_base64_functions() -> None:
    util = vtl.Util()
    assert util.urlEncode("a b&c=d~*é") == "a+b%26c%3Dd%7E*%C3%A9"
    assert util.urlDecode("a+b%26c") == "a b&c"
    assert util.base64Encode("héllo") == "aMOpbGxv"
    assert util.base64Decode("aMOpbGxv") == "héllo"
    assert render("$util.parseJson('{\"a\": [1, 2]}').a.size()") == "2"
    with pytest.raises(vtl.TemplateError):
        vtl.render("$util.base64Decode('abcde')")


def test_response_override_sets_status_and_headers() -> None:
    context = vtl.new_context(
        request_id="r-1", request_time_epoch=1, http_method="GET", resource_path="/", path="/"
    )
    template = (
        "#set($context.responseOverride.status = 404)"
        '#set($context.responseOverride.header.Location = "/books/$context.requestId")'
    )
    rendered = vtl.render(template, context=context)
    assert rendered.status_override == 404
    assert rendered.header_overrides == {"Location": "/books/r-1"}


def test_context_carries_request_values() -> None:
    context = vtl.new_context(
        request_id="r-2",
        request_time_epoch=1700000000123,
        http_method="POST",
        resource_path="/books",
        path="/books",
        source_ip="10.0.0.1",
    )
    text = vtl.render(
        "$context.requestId $context.requestTimeEpoch $context.httpMethod $context.identity.sourceIp",
        context=context,
    ).text
    assert text == "r-2 1700000000123 POST 10.0.0.1"


def test_template_errors_are_reported_as_template_errors() -> None:
    with pytest.raises(vtl.TemplateError):
        vtl.render("#if($x", body="{}")
    with pytest.raises(vtl.TemplateError):
        vtl.render("$input.json('$.a')", body="not json")


@given(st.text())
def test_escaped_values_always_decode_back_to_themselves(value: str) -> None:
    template = '"$util.escapeJavaScript($input.params(\'v\')).replaceAll("\\\\\'", "\'")"'
    text = vtl.render(template, params={"querystring": {"v": value}}).text
    assert json.loads(text) == value


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('$s != "" && $util.parseJson($s) > 1', "no"),  # the right side would fail: never evaluated
        ('$s == "" || $util.parseJson($s) > 1', "yes"),
        ("1 + 2 * 3 == 7 && !(1 > 2)", "yes"),
        ("false || 2 - 1 == 1", "yes"),
    ],
)
def test_and_or_short_circuit_left_to_right_as_velocity_does(condition: str, expected: str) -> None:
    """Velocity 1.7 evaluates && and || left to right and stops when the left side decides (ASTAndNode,
    ASTOrNode); templates rely on it to guard $util.parseJson."""
    template = f'#set($s = "")#if({condition})yes#{{else}}no#end'

    assert vtl.render(template).text == expected


def test_string_length_counts_utf16_units_as_java_does() -> None:
    assert vtl.render('#set($s = "a😀")$s.length()').text == "3"


def test_split_is_javas_a_regular_expression_dropping_trailing_empty_strings() -> None:
    """java.lang.String.split(regex): "trailing empty strings are not included in the resulting array"
    (https://docs.oracle.com/javase/8/docs/api/java/lang/String.html#split-java.lang.String-), never
    Python's str.split, which splits on the literal text."""
    template = '#set($s = "$input.path(\'$.title\')")#foreach($p in $s.split("[ ,]+"))[$p]#end'

    assert render(template, body=json.dumps({"title": "7  1, 2,,"})) == "[7][1][2]"
    assert render(template, body=json.dumps({"title": ",a"})) == "[][a]"


def test_identifiers_may_hold_hyphens_as_in_velocity_1_7() -> None:
    """Velocity 1.7's <IDENTIFIER> allows "-" after the first character, so a response template can
    override a hyphenated header ($context.responseOverride.header.<name>: mapping template reference)."""
    context = vtl.new_context(
        request_id="r", request_time_epoch=0, http_method="GET", resource_path="/", path="/"
    )

    rendered = vtl.render(
        '#set($context.responseOverride.header.Access-Control-Allow-Origin = "https://a.example")ok',
        context=context,
    )

    assert rendered.header_overrides == {"Access-Control-Allow-Origin": "https://a.example"}


def test_lists_take_add_as_java_lists_do() -> None:
    assert render("#set($l = [])#set($ok = $l.add('x'))#set($ok = $l.add('y'))$l.size() $ok") == "2 true"
