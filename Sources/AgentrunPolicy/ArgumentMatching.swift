import AgentrunJSON

/// A matcher prepared for evaluation: regexes and globs compiled, paths normalised, byte
/// strings ready. The profile decoder compiles every matcher once to reject bad ones at load
/// time; `ToolPolicyEngine` compiles them again (cheaply) for itself.
enum CompiledMatcher: Sendable {
    case eq(JSON)
    case oneOf([JSON])
    case prefix([String])
    case glob([GlobPattern])
    case regex(CompiledRegex)
    case pathUnder([String])
    case maxLength(Int)
    case range(min: Double, max: Double)
    case absent(Bool)

    /// Nil with a reason when the matcher's value is unusable.
    static func compile(_ matcher: ArgumentMatcher) -> Result<CompiledMatcher, MatcherError> {
        switch matcher {
        case .eq(let value): return .success(.eq(value))
        case .oneOf(let values):
            guard !values.isEmpty else { return .failure(.init(message: "'in' needs at least one value")) }
            return .success(.oneOf(values))
        case .prefix(let prefixes):
            guard !prefixes.isEmpty else { return .failure(.init(message: "'prefix' needs at least one prefix")) }
            return .success(.prefix(prefixes))
        case .glob(let patterns):
            guard !patterns.isEmpty else { return .failure(.init(message: "'glob' needs at least one pattern")) }
            var compiled: [GlobPattern] = []
            for pattern in patterns {
                switch GlobPattern.compile(pattern) {
                case .success(let glob): compiled.append(glob)
                case .failure(let error): return .failure(.init(message: "invalid glob '\(pattern)': \(error.message)"))
                }
            }
            return .success(.glob(compiled))
        case .regex(let source):
            switch CompiledRegex.compile(source) {
            case .success(let regex): return .success(.regex(regex))
            case .failure(let error): return .failure(.init(message: error.message))
            }
        case .pathUnder(let directories):
            guard !directories.isEmpty else { return .failure(.init(message: "'path_under' needs at least one directory")) }
            var normalized: [String] = []
            for directory in directories {
                guard let n = PathNormalization.normalize(directory) else {
                    return .failure(.init(message: "'path_under' takes absolute directories, found '\(directory)'"))
                }
                normalized.append(n)
            }
            return .success(.pathUnder(normalized))
        case .maxLength(let n):
            guard n >= 0 else { return .failure(.init(message: "'max_length' must be 0 or more")) }
            return .success(.maxLength(n))
        case .range(let low, let high):
            guard low.isFinite, high.isFinite, low <= high else {
                return .failure(.init(message: "'range' needs [min, max] with min <= max"))
            }
            return .success(.range(min: low, max: high))
        case .absent(let flag): return .success(.absent(flag))
        }
    }

    /// Whether `value` (nil: the pointer resolved to nothing) satisfies the matcher. A value of
    /// a type the matcher does not handle never matches; nothing matches a missing value except
    /// `absent: true`.
    @inline(__always)
    func matches(_ value: JSON?) -> Bool {
        if case .absent(let expected) = self { return (value == nil) == expected }
        guard let value else { return false }
        switch self {
        case .eq(let expected): return JSONComparison.equal(expected, value)
        case .oneOf(let values): return values.contains { JSONComparison.equal($0, value) }
        case .prefix(let prefixes):
            guard case .string(let text) = value else { return false }
            return prefixes.contains { text.utf8.starts(with: $0.utf8) }
        case .glob(let patterns):
            guard case .string(let text) = value else { return false }
            return patterns.contains { $0.matches(text) }
        case .regex(let regex):
            guard case .string(let text) = value else { return false }
            return regex.wholeMatches(text)
        case .pathUnder(let directories):
            guard case .string(let text) = value, let path = PathNormalization.normalize(text) else { return false }
            return directories.contains { PathNormalization.isUnder(path, $0) }
        case .maxLength(let limit):
            switch value {
            case .string(let text): return text.utf8.count <= limit || text.unicodeScalars.count <= limit
            case .array(let items): return items.count <= limit
            default: return false
            }
        case .range(let low, let high):
            guard case .number(let n) = value else { return false }
            if let i = n.int64, low.rounded() == low, high.rounded() == high, abs(low) < 9e15, abs(high) < 9e15 {
                return i >= Int64(low) && i <= Int64(high)
            }
            let d = n.double
            return d >= low && d <= high
        case .absent: return false
        }
    }
}

public struct MatcherError: Error, Sendable, Equatable {
    public var message: String
}
