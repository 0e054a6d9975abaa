/// A regular expression compiled once at profile load (`regex:` matchers, schema `pattern`).
///
/// Swift's regex syntax (PCRE-like; agrees with ECMA-262 on classes, quantifiers, groups and
/// anchors). Matching works on Unicode scalars, not grapheme clusters, so `.` is one code point
/// as in other engines and the text the backend receives is the text that was matched.
public struct CompiledRegex: @unchecked Sendable {
    // Regex is immutable once built; it is not declared Sendable on every toolchain.
    private let regex: Regex<AnyRegexOutput>
    public let source: String

    public static func compile(_ source: String) -> Result<CompiledRegex, RegexSyntaxError> {
        do {
            let regex = try Regex(source).matchingSemantics(.unicodeScalar)
            return .success(CompiledRegex(regex: regex, source: source))
        } catch {
            return .failure(RegexSyntaxError(message: "invalid regular expression '\(source)': \(error)"))
        }
    }

    /// The whole text matches (the `regex:` matcher is anchored at both ends).
    public func wholeMatches(_ text: String) -> Bool {
        (try? regex.wholeMatch(in: text)) != nil
    }

    /// Some part of the text matches (JSON Schema `pattern`).
    public func containsMatch(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }
}

public struct RegexSyntaxError: Error, Sendable, Equatable {
    public var message: String
}
