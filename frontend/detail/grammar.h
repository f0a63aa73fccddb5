// PEGTL grammars for the Buildfile's small languages: parser directives, exec-form JSON arrays,
// heredoc markers and --mount option lists. The line structure (continuations, comments, heredoc
// bodies) depends on the escape directive and is scanned in parser.cc.
#pragma once

#include <tao/pegtl.hpp>

namespace imgbuild::frontend::grammar {

namespace pegtl = tao::pegtl;

// --- Parser directive: `# key = value` (BuildKit: ^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$)
struct blank : pegtl::one<' ', '\t'> {};
struct directive_key : pegtl::seq<pegtl::alpha, pegtl::star<pegtl::alnum>> {};
struct directive_value : pegtl::plus<pegtl::any> {};
struct directive : pegtl::seq<pegtl::one<'#'>, pegtl::star<blank>, directive_key, pegtl::star<blank>,
                              pegtl::one<'='>, pegtl::star<blank>, directive_value, pegtl::eof> {};

// --- JSON (RFC 8259), with the elements of the top-level array told apart.
namespace json {
struct ws : pegtl::star<pegtl::one<' ', '\t', '\n', '\r'>> {};
struct unicode_escape : pegtl::seq<pegtl::one<'u'>, pegtl::rep<4, pegtl::xdigit>> {};
struct simple_escape : pegtl::one<'"', '\\', '/', 'b', 'f', 'n', 'r', 't'> {};
struct escaped : pegtl::seq<pegtl::one<'\\'>, pegtl::sor<simple_escape, unicode_escape>> {};
struct plain : pegtl::plus<pegtl::not_one<'"', '\\', 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                          0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
                                          0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
                                          0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f>> {};
struct string_body : pegtl::star<pegtl::sor<plain, escaped>> {};
struct string : pegtl::seq<pegtl::one<'"'>, string_body, pegtl::one<'"'>> {};
struct digits : pegtl::plus<pegtl::digit> {};
struct number
    : pegtl::seq<pegtl::opt<pegtl::one<'-'>>,
                 pegtl::sor<pegtl::one<'0'>, pegtl::seq<pegtl::range<'1', '9'>, pegtl::star<pegtl::digit>>>,
                 pegtl::opt<pegtl::one<'.'>, digits>,
                 pegtl::opt<pegtl::one<'e', 'E'>, pegtl::opt<pegtl::one<'+', '-'>>, digits>> {};
struct value;
struct array : pegtl::seq<pegtl::one<'['>, ws,
                          pegtl::opt<pegtl::list<pegtl::seq<value, ws>, pegtl::seq<pegtl::one<','>, ws>>>,
                          pegtl::one<']'>> {};
struct member : pegtl::seq<string, ws, pegtl::one<':'>, ws, value> {};
struct object : pegtl::seq<pegtl::one<'{'>, ws,
                           pegtl::opt<pegtl::list<pegtl::seq<member, ws>, pegtl::seq<pegtl::one<','>, ws>>>,
                           pegtl::one<'}'>> {};
struct value : pegtl::sor<string, number, object, array, pegtl::string<'t', 'r', 'u', 'e'>,
                          pegtl::string<'f', 'a', 'l', 's', 'e'>, pegtl::string<'n', 'u', 'l', 'l'>> {};

// A top-level element is either a string (an argument) or anything else (an error for exec form).
struct top_string : string {};
struct top_other : pegtl::sor<number, object, array, pegtl::string<'t', 'r', 'u', 'e'>,
                              pegtl::string<'f', 'a', 'l', 's', 'e'>, pegtl::string<'n', 'u', 'l', 'l'>> {};
struct top_element : pegtl::sor<top_string, top_other> {};
struct top_array
    : pegtl::seq<ws, pegtl::one<'['>, ws,
                 pegtl::opt<pegtl::list<pegtl::seq<top_element, ws>, pegtl::seq<pegtl::one<','>, ws>>>,
                 pegtl::one<']'>, ws, pegtl::eof> {};
}  // namespace json

// --- Heredoc marker word (BuildKit: ^(\d*)<<(-?)([^<]*)$)
struct heredoc_fd : pegtl::star<pegtl::digit> {};
struct heredoc_chomp : pegtl::one<'-'> {};
struct heredoc_word : pegtl::star<pegtl::not_one<'<'>> {};
struct heredoc_marker : pegtl::seq<heredoc_fd, pegtl::two<'<'>, pegtl::opt<heredoc_chomp>,
                                   heredoc_word, pegtl::eof> {};

// --- CSV record, as Go's encoding/csv reads the value of --mount.
namespace csv {
struct quoted_char : pegtl::sor<pegtl::two<'"'>, pegtl::not_one<'"'>> {};
struct quoted_field : pegtl::seq<pegtl::one<'"'>, pegtl::star<quoted_char>, pegtl::one<'"'>> {};
struct plain_field : pegtl::star<pegtl::not_one<',', '"'>> {};
struct field : pegtl::sor<quoted_field, plain_field> {};
struct record : pegtl::seq<pegtl::list<field, pegtl::one<','>>, pegtl::eof> {};
}  // namespace csv

}  // namespace imgbuild::frontend::grammar
