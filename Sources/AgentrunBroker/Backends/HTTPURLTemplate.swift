import AgentrunJSON

/// The `url:` of an http backend, split once at load: scheme, host and port are literal; the
/// path and the query are templates whose substituted values are percent-encoded for where
/// they land (a value can add neither a `/`, a `?`, a `&` nor a `#`, and never makes a `.` or
/// `..` path segment).
struct HTTPURLTemplate: Sendable {
    let isTLS: Bool
    /// The host to connect to (an IPv6 address without brackets).
    let host: String
    let port: Int
    /// The `Host:` header value (`host[:port]`, brackets kept for IPv6).
    let hostHeader: String
    let path: Template
    let query: Template?

    init(parsing url: String) throws(Template.Failure) {
        let rest: Substring
        if url.hasPrefix("https://") {
            isTLS = true
            rest = url.dropFirst("https://".count)
        } else if url.hasPrefix("http://") {
            isTLS = false
            rest = url.dropFirst("http://".count)
        } else {
            throw .init("the url must start with http:// or https://")
        }
        guard !url.contains("#") else { throw .init("the url must not have a fragment (`#`)") }
        for scalar in url.unicodeScalars where scalar.value <= 0x20 || scalar.value >= 0x7F {
            throw .init("the url contains a space, a control or a non-ASCII character (percent-encode it)")
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.contains("{"), !authority.contains("}") else {
            throw .init("scheme, host and port of the url must be literal (no template)")
        }
        guard !authority.contains("@") else { throw .init("the url must not carry user information (`@`)") }
        var hostPart = Substring(authority)
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .init("an IPv6 host without `]`") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .init("unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw .init("the url has no host") }
        host = String(hostPart)
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else { throw .init("the url's port is not 1-65535") }
            self.port = port
        } else {
            port = isTLS ? 443 : 80
        }
        hostHeader = String(authority)
        let target = rest[authorityEnd...]
        let pathText: Substring
        let queryText: Substring?
        if let questionMark = target.firstIndex(of: "?") {
            pathText = target[..<questionMark]
            queryText = target[target.index(after: questionMark)...]
        } else {
            pathText = target
            queryText = nil
        }
        path = try Template(parsing: pathText.isEmpty ? "/" : String(pathText))
        query = try queryText.map { q throws(Template.Failure) in try Template(parsing: String(q)) }
        for case .literal(let text) in path.parts where text.contains("?") {
            throw .init("a literal `?` in the path")
        }
    }

    /// The request target (`/path?query`) for one call.
    func requestTarget(arguments: JSON, secrets: SecretStore) throws(Template.Failure) -> String {
        let pathText = try path.render(arguments: arguments, secrets: secrets, encode: HTTPURLTemplate.encodePathSegment)
        for segment in pathText.split(separator: "/", omittingEmptySubsequences: false) where segment == "." || segment == ".." {
            throw .init("the path would contain a `\(segment)` segment")
        }
        guard let query else { return pathText }
        return pathText + "?" + (try query.render(arguments: arguments, secrets: secrets, encode: HTTPURLTemplate.encodeQueryValue))
    }

    /// Unreserved characters (RFC 3986) stay; every other byte becomes `%XX`.
    static func percentEncode(_ text: String) -> String {
        var out = ""
        let hex: [Character] = Array("0123456789ABCDEF")
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out.append("%")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    static func encodePathSegment(_ value: String) throws(Template.Failure) -> String {
        percentEncode(value)
    }

    static func encodeQueryValue(_ value: String) throws(Template.Failure) -> String {
        percentEncode(value)
    }
}
