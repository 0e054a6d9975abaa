import CYAML

/// Turns YAML text into a `YAMLNode` with libyaml's event API.
///
/// Profiles use a deliberately small subset of YAML: one document, no anchors, aliases or tags,
/// unique scalar keys. Anything else is rejected so that what the operator reads is what runs.
enum YAMLParser {
    /// Deeper nesting than any profile needs; the bound keeps recursive teardown of the tree safe.
    static let maxDepth = 32

    /// Parses `bytes` (UTF-8). Returns nil for a stream with no document (empty or only comments).
    static func parse(_ bytes: [UInt8], file: String) throws(ProfileError) -> YAMLNode? {
        if bytes.isEmpty { return nil }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            throw ProfileError(file: file, message: "cannot initialise the YAML parser (out of memory)")
        }
        defer { yaml_parser_delete(parser) }
        let result: Result<YAMLNode?, ProfileError> = bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return .success(nil) }
            yaml_parser_set_input_string(parser, base, buffer.count)
            var builder = TreeBuilder(file: file)
            do throws(ProfileError) {
                return .success(try builder.run(parser))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// Assembles nodes from events with an explicit stack (no recursion on untrusted input).
private struct TreeBuilder {
    let file: String

    private enum Frame {
        case sequence([YAMLNode], YAMLMark)
        case mapping([(key: YAMLNode, value: YAMLNode)], pendingKey: YAMLNode?, seen: [String: YAMLMark], YAMLMark)
    }

    private var stack: [Frame] = []
    private var root: YAMLNode?
    private var documents = 0

    init(file: String) {
        self.file = file
    }

    mutating func run(_ parser: UnsafeMutablePointer<yaml_parser_t>) throws(ProfileError) -> YAMLNode? {
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { event.deallocate() }
        while true {
            guard yaml_parser_parse(parser, event) == 1 else { throw parserError(parser.pointee) }
            defer { yaml_event_delete(event) }
            let finished = try handle(event.pointee)
            if finished { return root }
        }
    }

    /// Returns true at the end of the stream.
    private mutating func handle(_ event: yaml_event_t) throws(ProfileError) -> Bool {
        let mark = YAMLMark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw error(mark, "a profile file holds one YAML document; found a second '---' document")
            }
        case YAML_ALIAS_EVENT:
            throw error(mark, "YAML aliases (*name) are not supported; write the value out")
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            try checkPlainNode(anchor: scalar.anchor, tag: scalar.tag, mark: mark)
            let text: String
            if let value = scalar.value {
                text = String(decoding: UnsafeBufferPointer(start: value, count: scalar.length), as: UTF8.self)
            } else {
                text = ""
            }
            try add(.scalar(text, quoted: scalar.style != YAML_PLAIN_SCALAR_STYLE, mark))
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            try checkPlainNode(anchor: start.anchor, tag: start.tag, mark: mark)
            try open(.sequence([], mark), at: mark)
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            try checkPlainNode(anchor: start.anchor, tag: start.tag, mark: mark)
            try open(.mapping([], pendingKey: nil, seen: [:], mark), at: mark)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { break }
            switch frame {
            case .sequence(let items, let start): try add(.sequence(items, start))
            case .mapping(let entries, _, _, let start): try add(.mapping(entries, start))
            }
        default:
            break  // stream start, document end
        }
        return false
    }

    private func checkPlainNode(
        anchor: UnsafeMutablePointer<yaml_char_t>?, tag: UnsafeMutablePointer<yaml_char_t>?, mark: YAMLMark
    ) throws(ProfileError) {
        if let anchor {
            throw error(mark, "YAML anchors (&\(String(cString: anchor))) are not supported; write the value out")
        }
        if let tag {
            throw error(mark, "YAML tags (\(String(cString: tag))) are not supported; remove the tag")
        }
    }

    private mutating func open(_ frame: Frame, at mark: YAMLMark) throws(ProfileError) {
        if case .mapping(_, nil, _, _)? = stack.last {
            throw error(mark, "a mapping key must be a plain name, not a list or a mapping")
        }
        if stack.count >= YAMLParser.maxDepth {
            throw error(mark, "nesting is deeper than \(YAMLParser.maxDepth) levels")
        }
        stack.append(frame)
    }

    /// Attaches a finished node to its parent, or makes it the document root.
    private mutating func add(_ node: YAMLNode) throws(ProfileError) {
        guard let top = stack.popLast() else {
            root = node
            return
        }
        switch top {
        case .sequence(var items, let start):
            items.append(node)
            stack.append(.sequence(items, start))
        case .mapping(var entries, let pendingKey, var seen, let start):
            if let key = pendingKey {
                entries.append((key: key, value: node))
                stack.append(.mapping(entries, pendingKey: nil, seen: seen, start))
                return
            }
            guard let text = node.scalarText else {
                throw error(node.mark, "a mapping key must be a plain name, not a list or a mapping")
            }
            if let first = seen[text] {
                throw error(node.mark, "duplicate key '\(text)' (first set at line \(first.line))")
            }
            seen[text] = node.mark
            stack.append(.mapping(entries, pendingKey: node, seen: seen, start))
        }
    }

    private func error(_ mark: YAMLMark, _ message: String) -> ProfileError {
        ProfileError(file: file, line: mark.line, column: mark.column, message: message)
    }

    /// libyaml's own diagnostic, e.g. "mapping values are not allowed in this context".
    private func parserError(_ parser: yaml_parser_t) -> ProfileError {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return ProfileError(file: file, message: "out of memory while parsing YAML")
        case YAML_READER_ERROR:
            return ProfileError(
                file: file, message: "invalid YAML input: \(problem) at byte \(parser.problem_offset)")
        default:
            var message = "invalid YAML: \(problem)"
            if let context = parser.context {
                let at = parser.context_mark
                message += " (\(String(cString: context)) at line \(at.line + 1), column \(at.column + 1))"
            }
            let mark = parser.problem_mark
            return ProfileError(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1, message: message)
        }
    }
}
