import Testing

@testable import AgentrunJSON

/// Bytes from text parts and raw byte arrays, for inputs a Swift string cannot hold (invalid UTF-8).
func bytes(_ parts: any JSONTestBytes...) -> [UInt8] { parts.flatMap { $0.testBytes } }

protocol JSONTestBytes { var testBytes: [UInt8] { get } }
extension String: JSONTestBytes { var testBytes: [UInt8] { Array(utf8) } }
extension Array: JSONTestBytes where Element == UInt8 { var testBytes: [UInt8] { self } }

func parseError(_ input: [UInt8], limits: JSONParseLimits = .init()) -> JSONParseError? {
    do {
        _ = try JSON.parse(input, limits: limits)
        return nil
    } catch {
        return error
    }
}

@Suite struct JSONParserAcceptTests {
    /// JSONTestSuite `y_` cases (and a few of our own): each must parse.
    static let accepted: [(name: String, input: [UInt8])] = [
        ("y_array_empty", bytes("[]")),
        ("y_object_empty", bytes("{}")),
        ("y_array_arraysWithSpaces", bytes("[[]   ]")),
        ("y_array_empty-string", bytes(#"[""]"#)),
        ("y_array_false", bytes("[false]")),
        ("y_array_heterogeneous", bytes(#"[null, 1, "1", {}]"#)),
        ("y_array_with_leading_space", bytes(" [1]")),
        ("y_array_with_trailing_space", bytes("[2] ")),
        ("y_structure_trailing_newline", bytes("[\"a\"]\n")),
        ("y_structure_whitespace_array", bytes(" \t\r\n[ \t\r\n] \t\r\n")),
        ("y_structure_lonely_string", bytes(#""asd""#)),
        ("y_structure_lonely_int", bytes("42")),
        ("y_structure_lonely_negative_real", bytes("-0.1")),
        ("y_structure_lonely_null", bytes("null")),
        ("y_structure_lonely_true", bytes("true")),
        ("y_structure_lonely_false", bytes("false")),
        ("y_number_0e+1", bytes("[0e+1]")),
        ("y_number_0e1", bytes("[0e1]")),
        ("y_number_negative_zero", bytes("[-0]")),
        ("y_number_minus_zero_real", bytes("[-0.0]")),
        ("y_number_real_capital_e", bytes("[1E22]")),
        ("y_number_real_capital_e_neg_exp", bytes("[1E-2]")),
        ("y_number_real_capital_e_pos_exp", bytes("[1E+2]")),
        ("y_number_real_exponent", bytes("[123e45]")),
        ("y_number_real_fraction_exponent", bytes("[123.456e78]")),
        ("y_number_simple_real", bytes("[123.456789]")),
        ("y_number_after_space", bytes("[ 4]")),
        ("y_number_huge_integer", bytes("[123456789012345678901234567890]")),
        ("i_number_huge_exp (kept as text)", bytes("[1.5e+9999]")),
        ("y_object_basic", bytes(#"{"asd":"sdf"}"#)),
        ("y_object_empty_key", bytes(#"{"":0}"#)),
        ("y_object_escaped_null_in_key", bytes(#"{"foo\u0000bar": 42}"#)),
        ("y_object_long_strings", bytes(#"{"x":[{"id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}], "id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#)),
        ("y_object_same_key_different_case", bytes(#"{"a":1,"A":2}"#)),
        ("y_string_allowed_escapes", bytes(#"["\"\\\/\b\f\n\r\t"]"#)),
        ("y_string_escaped_noncharacter", bytes(#"["\uFFFF"]"#)),
        ("y_string_null_escape", bytes(#"["\u0000"]"#)),
        ("y_string_surrogates_U+1D11E_MUSICAL_SYMBOL_G_CLEF", bytes(#"["\uD834\uDd1e"]"#)),
        ("y_string_accepted_surrogate_pairs", bytes(#"["\ud83d\ude39\ud83d\udc8d"]"#)),
        ("y_string_u+2028_line_sep", bytes(#"["\u2028"]"#)),
        ("y_string_unicode_escaped_double_quote", bytes(#"["\u0022"]"#)),
        ("y_string_with_del_character", bytes("[\"a", [0x7F], "a\"]")),
        ("y_string_utf8 (2, 3 and 4 bytes)", bytes("[\"é€𝄞\"]")),
        ("y_string_nonCharacterInUTF-8_U+FFFF", bytes("[\"", [0xEF, 0xBF, 0xBF], "\"]")),
        ("y_string_last_surrogates_1_and_2 U+10FFFF raw", bytes("[\"", [0xF4, 0x8F, 0xBF, 0xBF], "\"]")),
        ("first code point after the surrogates, raw", bytes("[\"", [0xEE, 0x80, 0x80], "\"]")),
        ("last code point before the surrogates, raw", bytes("[\"", [0xED, 0x9F, 0xBF], "\"]")),
        ("y_string_in_array_with_leading_space", bytes(#"[ "asd"]"#)),
        ("nested containers", bytes(#"{"a":[{"b":{"c":[[],{}]}}]}"#)),
    ]

    @Test(arguments: accepted)
    func accepts(_ testCase: (name: String, input: [UInt8])) {
        let error = parseError(testCase.input)
        #expect(error == nil, "\(testCase.name): \(String(describing: error))")
    }

    @Test func parsesValuesExactly() throws {
        let value = try JSON.parse(#"{"a": [1, true, false, null, "x", -2.50e+3], "b": {}}"#)
        #expect(value == ["a": [1, true, false, nil, "x", .number(JSONNumber(validatedText: "-2.50e+3"))], "b": [:]])
    }

    @Test func unescapesStrings() throws {
        let value = try JSON.parse(#"["\"\\\/\b\f\n\r\t", "\u00e9\u20AC\ud834\udd1e", "a\u0000b", "pre é \n post"]"#)
        #expect(value == ["\"\\/\u{8}\u{C}\n\r\t", "é€\u{1D11E}", "a\u{0}b", "pre é \n post"])
    }

    @Test func keepsRawUTF8() throws {
        let value = try JSON.parse(bytes("\"", [0xF4, 0x8F, 0xBF, 0xBF], [0xC3, 0xA9], "\""))
        #expect(value == .string("\u{10FFFF}é"))
    }

    @Test func keepsNumberText() throws {
        let texts = ["0", "-0", "1.0", "1e5", "1E+05", "-12.500", "123456789012345678901234567890", "1.5e+9999"]
        for text in texts {
            #expect(try JSON.parse(text) == .number(JSONNumber(validatedText: text)))
        }
    }

    @Test func acceptsEveryInputCollection() throws {
        let array = Array(#"{"k":[1]}"#.utf8)
        #expect(try JSON.parse(array) == ["k": [1]])
        #expect(try JSON.parse(array[...]) == ["k": [1]])
        #expect(try JSON.parse(Array("xx[2]".utf8).dropFirst(2)) == [2])
        // Not contiguous: goes through the copy.
        #expect(try JSON.parse(array.lazy.map { $0 }) == ["k": [1]])
    }
}

@Suite struct JSONParserRejectTests {
    /// JSONTestSuite `n_` cases (and our own stricter ones): input, byte offset, a message fragment.
    static let rejected: [(name: String, input: [UInt8], offset: Int, message: String)] = [
        ("n_structure_no_data", bytes(""), 0, "empty document"),
        ("n_structure_whitespace_only", bytes(" \n"), 2, "empty document"),
        ("n_array_extra_comma", bytes("[1,]"), 3, "trailing comma in array"),
        ("n_array_double_comma", bytes("[1,,2]"), 3, "expected a value"),
        ("n_array_comma_after_close", bytes("[\"\"],"), 4, "after the value"),
        ("n_array_just_comma", bytes("[,]"), 1, "expected a value"),
        ("n_array_1_true_without_comma", bytes("[1 true]"), 3, "expected ',' or ']'"),
        ("n_array_unclosed", bytes("[\"\""), 3, "end of input"),
        ("n_array_unclosed_with_new_lines", bytes("[1,\n1\n,1"), 8, "end of input"),
        ("n_structure_open_array", bytes("["), 1, "end of input"),
        ("n_object_trailing_comma", bytes(#"{"id":0,}"#), 8, "trailing comma in object"),
        ("n_object_missing_colon", bytes(#"{"a" b}"#), 5, "expected ':'"),
        ("n_object_missing_value", bytes(#"{"a":}"#), 5, "expected a value"),
        ("n_object_non_string_key", bytes("{1:1}"), 1, "keys must be strings"),
        ("n_object_single_quote", bytes("{'a':0}"), 1, "keys must be strings"),
        ("n_object_comma_instead_of_colon", bytes(#"{"x", null}"#), 4, "expected ':'"),
        ("n_object_unclosed", bytes(#"{"a":1"#), 6, "end of input"),
        ("n_object_garbage_at_end", bytes(#"{"a":"a" 123}"#), 9, "expected ',' or '}'"),
        ("n_object_two_commas_in_a_row", bytes(#"{"a":"b",,"c":"d"}"#), 9, "keys must be strings"),
        ("n_object_with_trailing_garbage", bytes(#"{"a":"b"}#"#), 9, "after the value"),
        ("n_structure_double_array", bytes("[][]"), 2, "after the value"),
        ("n_structure_object_followed_by_closing_object", bytes("{}}"), 2, "after the value"),
        ("n_structure_trailing_#", bytes(#"{"a":"b"}#{}"#), 9, "after the value"),
        ("n_structure_null-byte-outside-string", bytes("[", [0x00], "]"), 1, "expected a value"),
        ("n_structure_whitespace_formfeed", bytes("[", [0x0C], "]"), 1, "expected a value"),
        ("n_structure_unicode-identifier / U+00A0 is not whitespace", bytes("[", [0xC2, 0xA0], "1]"), 1, "expected a value"),
        ("n_structure_UTF8_BOM_no_data", bytes([0xEF, 0xBB, 0xBF]), 0, "byte order mark"),
        ("n_structure_UTF8_BOM before a value", bytes([0xEF, 0xBB, 0xBF], "{}"), 0, "byte order mark"),
        ("n_structure_single_quote", bytes("['a']"), 1, "double quotes"),
        ("n_object_trailing_comment", bytes(#"{"a":"b"}/**/"#), 9, "after the value"),
        ("n_structure_comment_first", bytes("/* c */ []"), 0, "comments"),
        ("n_array_comment_inside", bytes("[1 // c\n]"), 3, "expected ',' or ']'"),
        ("n_number_leading_zero", bytes("[012]"), 1, "leading zeros"),
        ("n_number_neg_int_starting_with_zero", bytes("[-012]"), 2, "leading zeros"),
        ("n_number_00", bytes("00"), 0, "leading zeros"),
        ("n_number_+1", bytes("[+1]"), 1, "'+'"),
        ("n_number_.2e-3", bytes("[.2e-3]"), 1, "expected a value"),
        ("n_number_1.", bytes("[1.]"), 3, "'.' must be followed by a digit"),
        ("n_number_2.e3", bytes("[2.e3]"), 3, "'.' must be followed by a digit"),
        ("n_number_0.e1", bytes("[0.e1]"), 3, "'.' must be followed by a digit"),
        ("n_number_1e", bytes("[1e]"), 3, "exponent"),
        ("n_number_0_capital_E+", bytes("[0E+]"), 4, "exponent"),
        ("n_number_minus_sign_with_trailing_garbage", bytes("[-foo]"), 2, "'-' must be followed by a digit"),
        ("n_number_minus_space_1", bytes("[- 1]"), 2, "'-' must be followed by a digit"),
        ("n_number_hex_1_digit", bytes("[0x1]"), 2, "expected ',' or ']'"),
        ("n_number_NaN", bytes("[NaN]"), 1, "NaN and Infinity"),
        ("n_number_infinity", bytes("[Infinity]"), 1, "NaN and Infinity"),
        ("n_number_minus_infinity", bytes("[-Infinity]"), 2, "'-' must be followed by a digit"),
        ("n_number_with_space_inside", bytes("[1 000]"), 3, "expected ',' or ']'"),
        ("n_number_real_garbage_after_e", bytes("[1ea]"), 3, "exponent"),
        ("n_incomplete_true", bytes("[tru]"), 1, "expected 'true'"),
        ("n_incomplete_false", bytes("[fals]"), 1, "expected 'false'"),
        ("n_incomplete_null", bytes("[nul]"), 1, "expected 'null'"),
        ("n_structure_capitalized_True", bytes("[True]"), 1, "expected a value"),
        ("n_structure_null_with_extra_l", bytes("[nulll]"), 5, "expected ',' or ']'"),
        ("n_string_unescaped_ctrl_char", bytes("[\"a", [0x00], "a\"]"), 3, "control character 0x00"),
        ("n_string_unescaped_tab", bytes("[\"\t\"]"), 2, "control character 0x09"),
        ("n_string_unescaped_newline", bytes("[\"new\nline\"]"), 5, "control character 0x0A"),
        ("n_string_single_doublequote", bytes("\""), 0, "unterminated string"),
        ("n_string_no_quotes_with_bad_escape", bytes("[\\n]"), 1, "expected a value"),
        ("n_string_escape_x", bytes(#"["\x00"]"#), 2, "invalid escape"),
        ("n_string_escaped_emoji / raw UTF-8 after a backslash", bytes("[\"\\", [0xF0, 0x9F, 0x8C, 0x80], "\"]"), 2, "invalid escape"),
        ("n_string_single_quote_escape", bytes(#"["\'"]"#), 2, "invalid escape"),
        ("n_string_backslash_00", bytes("[\"\\", [0x00], "\"]"), 2, "invalid escape"),
        ("n_string_incomplete_escape", bytes(#"["\"]"#), 1, "unterminated string"),
        ("n_string_incomplete_escaped_character", bytes(#"["\u00A"]"#), 2, "four hex digits"),
        ("n_string_invalid_unicode_escape", bytes(#"["\uqqqq"]"#), 2, "four hex digits"),
        ("n_string_1_surrogate_then_escape_u1x", bytes(#"["\uD800\u1x"]"#), 8, "four hex digits"),
        ("n_string_lone_high_surrogate", bytes(#"["\uD800"]"#), 2, "unpaired high surrogate \\uD800"),
        ("n_string_lone_low_surrogate", bytes(#"["\uDC00"]"#), 2, "unpaired low surrogate \\uDC00"),
        ("n_string_high_then_ascii_escape", bytes(#"["\uD800\u0041"]"#), 2, "unpaired high surrogate"),
        ("n_string_two_high_surrogates", bytes(#"["\uD800\uD800"]"#), 2, "unpaired high surrogate"),
        ("n_string_high_then_text", bytes(#"["\uD800abc"]"#), 2, "unpaired high surrogate"),
        ("n_string_reversed_pair", bytes(#"["\uDD1E\uD834"]"#), 2, "unpaired low surrogate"),
        ("n_string_invalid_utf8 0xFF", bytes("[\"", [0xFF], "\"]"), 2, "cannot start a character"),
        ("n_string_invalid_utf8 0xF5", bytes("[\"", [0xF5, 0x80, 0x80, 0x80], "\"]"), 2, "cannot start a character"),
        ("n_string_lone_utf8_continuation_byte", bytes("[\"", [0x81], "\"]"), 2, "continuation byte"),
        ("n_string_overlong_2 (C0 80, NUL)", bytes("[\"", [0xC0, 0x80], "\"]"), 2, "overlong"),
        ("n_string_overlong_2 (C1 BF)", bytes("[\"", [0xC1, 0xBF], "\"]"), 2, "overlong"),
        ("n_string_overlong_3 (E0 80 AF)", bytes("[\"", [0xE0, 0x80, 0xAF], "\"]"), 2, "overlong"),
        ("n_string_overlong_4 (F0 80 80 AF)", bytes("[\"", [0xF0, 0x80, 0x80, 0xAF], "\"]"), 2, "overlong"),
        ("n_string_UTF-8_encoded_high_surrogate (ED A0 80)", bytes("[\"", [0xED, 0xA0, 0x80], "\"]"), 2, "encoded surrogate"),
        ("n_string_UTF-8_encoded_low_surrogate (ED BF BF)", bytes("[\"", [0xED, 0xBF, 0xBF], "\"]"), 2, "encoded surrogate"),
        ("n_string_above_U+10FFFF (F4 90 80 80)", bytes("[\"", [0xF4, 0x90, 0x80, 0x80], "\"]"), 2, "above U+10FFFF"),
        ("n_string_truncated_utf8 then quote", bytes("[\"", [0xE2, 0x82], "\"]"), 4, "bad continuation byte"),
        ("n_string_truncated_utf8 at end", bytes("\"", [0xE2, 0x82]), 1, "truncated"),
        ("n_string_bad continuation in 4 bytes", bytes("[\"", [0xF0, 0x9F, 0x8C, 0x41], "\"]"), 5, "bad continuation byte"),
        ("n_string_invalid_utf8_after_escape", bytes("[\"\\n", [0xE9], "\"]"), 5, "bad continuation byte"),
        ("n_structure_invalid_utf8_outside_string", bytes("[", [0xFF], "]"), 1, "expected a value"),
        ("n_string_unclosed", bytes(#"["abc"#), 1, "unterminated string"),
        ("n_string_unclosed_after_escape", bytes(#"["a\n"#), 1, "unterminated string"),
        ("n_object_duplicate_key", bytes(#"{"a":1,"a":2}"#), 7, "duplicate object key \"a\""),
        ("n_object_duplicate_key_after_unescaping", bytes(#"{"a":1,"\u0061":2}"#), 7, "duplicate object key \"a\""),
        ("n_object_duplicate_key_escaped_slash", bytes(#"{"a/b":1, "a\/b":2}"#), 10, "duplicate object key \"a/b\""),
        ("n_object_duplicate_key_nested", bytes(#"[{"x":{"k":1,"y":2,"k":3}}]"#), 19, "duplicate object key \"k\""),
        ("n_object_duplicate_key_same_value", bytes(#"{"a":null,"a":null}"#), 10, "duplicate"),
        ("n_object_duplicate_non_ascii_key", bytes(#"{"é":1,"\u00e9":2}"#), 8, "duplicate"),
    ]

    @Test(arguments: rejected)
    func rejects(_ testCase: (name: String, input: [UInt8], offset: Int, message: String)) {
        let error = parseError(testCase.input)
        #expect(error != nil, "\(testCase.name) was accepted")
        guard let error else { return }
        #expect(error.offset == testCase.offset, "\(testCase.name): \(error)")
        #expect(error.message.contains(testCase.message), "\(testCase.name): \(error)")
        #expect(error.description.hasPrefix("invalid JSON at byte \(error.offset): "))
    }

    /// Two spellings of "é" (precomposed and e + combining acute) are one Swift dictionary key, so
    /// both cannot be kept: reject rather than silently drop one.
    @Test func rejectsCanonicallyEquivalentKeys() {
        let error = parseError(bytes(#"{"\u00e9":1,"e\u0301":2}"#))
        #expect(error?.message.contains("duplicate") == true)
        #expect(error?.offset == 12)
    }

    @Test func truncatedDocumentsAllFail() {
        let whole = Array(#"{"a":[1,-2.5e3,"x\u00e9\ud834\udd1e",true,null,{"b":false}]}"#.utf8)
        for length in 0..<whole.count {
            #expect(parseError(Array(whole[0..<length])) != nil, "prefix of length \(length) was accepted")
        }
        #expect(parseError(whole) == nil)
    }

    @Test func stringOverloadRejectsToo() {
        #expect(throws: JSONParseError.self) { try JSON.parse("[1,]") }
        #expect(throws: JSONParseError.self) { try JSON.parse("\u{FEFF}[]") }
    }
}

@Suite struct JSONParserLimitTests {
    static func nested(_ depth: Int) -> [UInt8] {
        Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
    }

    @Test func depthLimit() throws {
        let limits = JSONParseLimits(maxDepth: 8, maxStringBytes: 100)
        #expect(parseError(Self.nested(8), limits: limits) == nil)
        let error = try #require(parseError(Self.nested(9), limits: limits))
        #expect(error.offset == 8)
        #expect(error.message.contains("deeper than 8"))
        #expect(parseError(bytes(#"{"a":{"a":{"a":1}}}"#), limits: JSONParseLimits(maxDepth: 2)) != nil)
        #expect(parseError(bytes(#"{"a":{"a":1}}"#), limits: JSONParseLimits(maxDepth: 2)) == nil)
        #expect(parseError(bytes("1"), limits: JSONParseLimits(maxDepth: 0)) == nil)
        #expect(parseError(bytes("[]"), limits: JSONParseLimits(maxDepth: 0)) != nil)
    }

    @Test func defaultDepthLimitStopsDeepNestingWithoutCrashing() {
        #expect(parseError(Self.nested(64)) == nil)
        #expect(parseError(Self.nested(65))?.message.contains("deeper than 64") == true)
        let deep = Array(repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(parseError(deep)?.offset == 64)
    }

    @Test func stringLimitCountsUnescapedUTF8Bytes() {
        let limits = JSONParseLimits(maxDepth: 8, maxStringBytes: 4)
        #expect(parseError(bytes(#""abcd""#), limits: limits) == nil)
        #expect(parseError(bytes(#"["abcde"]"#), limits: limits)?.offset == 1)
        #expect(parseError(bytes(#""\u0041\u0042\u0043\u0044""#), limits: limits) == nil)  // 24 bytes of text, 4 of string
        #expect(parseError(bytes(#""\u0041\u0042\u0043\u0044\n""#), limits: limits)?.message.contains("longer than 4") == true)
        #expect(parseError(bytes("\"éé\""), limits: limits) == nil)
        #expect(parseError(bytes("\"ééa\""), limits: limits) != nil)
        #expect(parseError(bytes(#"{"abcde":1}"#), limits: limits)?.offset == 1)  // keys too
        #expect(parseError(bytes("[1234]"), limits: limits) == nil)
        #expect(parseError(bytes("[12345]"), limits: limits)?.message.contains("number longer than 4") == true)
    }
}
