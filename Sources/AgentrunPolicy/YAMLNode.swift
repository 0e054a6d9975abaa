/// A position in a YAML text, 1-based, for diagnostics.
struct YAMLMark: Sendable, Equatable {
    var line: Int
    var column: Int
}

/// The small YAML tree the profile decoder walks. No tags, anchors or implicit typing: the
/// decoder decides what a scalar means from the key it belongs to, so `yes` stays a string.
indirect enum YAMLNode: Sendable {
    /// `quoted` is true for single- or double-quoted and block (`|`, `>`) scalars: always strings.
    case scalar(String, quoted: Bool, YAMLMark)
    case sequence([YAMLNode], YAMLMark)
    /// Entries in document order; keys are scalars and unique (the parser checks both).
    case mapping([(key: YAMLNode, value: YAMLNode)], YAMLMark)

    var mark: YAMLMark {
        switch self {
        case .scalar(_, _, let mark), .sequence(_, let mark), .mapping(_, let mark): mark
        }
    }

    /// The text of a scalar (keys are always scalars).
    var scalarText: String? {
        if case .scalar(let text, _, _) = self { return text }
        return nil
    }
}
