/// Shell-style patterns for the `glob:` matcher and for `mcp_servers.*.rules[].tools`.
///
/// `*` matches any run of characters except `/`, `**` any run including `/`, `?` one character
/// except `/`, `[abc]`, `[a-z]`, `[!a-z]` (or `[^a-z]`) one character of (or not of) a class
/// (never `/`), `\x` the character `x` itself. Everything else matches itself. Characters are
/// Unicode scalars, compared exactly (no normalisation, no case folding).
///
/// Matching simulates the pattern as an automaton over the input (time O(input × pattern), no
/// backtracking), so an agent cannot make a policy check slow with a crafted argument.
public struct GlobPattern: Sendable, Equatable {
    enum Token: Sendable, Equatable {
        case literal(Unicode.Scalar)
        case any
        case star
        case globstar
        case set(ranges: [ClosedRange<UInt32>], negated: Bool)
    }

    public let source: String
    let tokens: [Token]

    /// Nil with a reason when the pattern is malformed (an unclosed `[`, a trailing `\`).
    public static func compile(_ pattern: String) -> Result<GlobPattern, GlobSyntaxError> {
        var tokens: [Token] = []
        let scalars = Array(pattern.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            switch c {
            case "*":
                if i + 1 < scalars.count, scalars[i + 1] == "*" {
                    i += 1
                    while i + 1 < scalars.count, scalars[i + 1] == "*" { i += 1 }
                    if tokens.last != .globstar { tokens.append(.globstar) }
                } else if tokens.last != .star, tokens.last != .globstar {
                    tokens.append(.star)
                }
            case "?": tokens.append(.any)
            case "\\":
                guard i + 1 < scalars.count else { return .failure(.init(message: "a trailing '\\' escapes nothing")) }
                i += 1
                tokens.append(.literal(scalars[i]))
            case "[":
                var j = i + 1
                var negated = false
                if j < scalars.count, scalars[j] == "!" || scalars[j] == "^" {
                    negated = true
                    j += 1
                }
                var ranges: [ClosedRange<UInt32>] = []
                var first = true
                var closed = false
                while j < scalars.count {
                    var low = scalars[j]
                    if low == "]", !first {
                        closed = true
                        break
                    }
                    first = false
                    if low == "\\" {
                        guard j + 1 < scalars.count else { break }
                        j += 1
                        low = scalars[j]
                    }
                    if j + 2 < scalars.count, scalars[j + 1] == "-", scalars[j + 2] != "]" {
                        var high = scalars[j + 2]
                        j += 2
                        if high == "\\" {
                            guard j + 1 < scalars.count else { break }
                            j += 1
                            high = scalars[j]
                        }
                        guard low.value <= high.value else {
                            return .failure(.init(message: "range '\(low)-\(high)' in '[...]' is reversed"))
                        }
                        ranges.append(low.value...high.value)
                    } else {
                        ranges.append(low.value...low.value)
                    }
                    j += 1
                }
                guard closed else { return .failure(.init(message: "'[' at position \(i + 1) has no closing ']'")) }
                tokens.append(.set(ranges: ranges, negated: negated))
                i = j
            default:
                tokens.append(.literal(c))
            }
            i += 1
        }
        return .success(GlobPattern(source: pattern, tokens: tokens))
    }

    /// Whether the whole of `text` matches.
    public func matches(_ text: String) -> Bool {
        let count = tokens.count
        // Fast path: a pattern of literals only.
        if !tokens.contains(where: { if case .literal = $0 { false } else { true } }) {
            return text.unicodeScalars.elementsEqual(tokens.lazy.map { if case .literal(let c) = $0 { c } else { " " } })
        }
        var current = [Bool](repeating: false, count: count + 1)
        var next = current
        current[0] = true
        close(&current)
        let slash: Unicode.Scalar = "/"
        for c in text.unicodeScalars {
            var any = false
            for i in 0..<count where current[i] {
                switch tokens[i] {
                case .literal(let l):
                    if l == c { next[i + 1] = true; any = true }
                case .any:
                    if c != slash { next[i + 1] = true; any = true }
                case .set(let ranges, let negated):
                    if c != slash, ranges.contains(where: { $0.contains(c.value) }) != negated { next[i + 1] = true; any = true }
                case .star:
                    if c != slash { next[i] = true; any = true }
                case .globstar:
                    next[i] = true
                    any = true
                }
            }
            guard any else { return false }
            close(&next)
            swap(&current, &next)
            for i in 0...count { next[i] = false }
        }
        return current[count]
    }

    /// Stars may match nothing: a state before a star also reaches the state after it.
    private func close(_ states: inout [Bool]) {
        for i in 0..<tokens.count where states[i] {
            switch tokens[i] {
            case .star, .globstar: states[i + 1] = true
            default: break
            }
        }
    }
}

public struct GlobSyntaxError: Error, Sendable, Equatable {
    public var message: String
}
