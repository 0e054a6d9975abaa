@testable import AgentrunProvenance
import Testing

@Suite struct RedactionTests {
    /// Secrets in uppercase never collide with tokens (`hmac-sha256:` and lowercase hex).
    let secret = "SK-LIVE-QWERTYUIOP"

    @Test func secretInArgvNestedAndInKeys() {
        let redactor = Redactor(secrets: [secret])
        let token = redactor.token(for: secret)
        #expect(token.hasPrefix("hmac-sha256:") && token.count == 12 + 64)
        let value: JSONValue = [
            "argv": ["curl", "-H", .string("Authorization: Bearer \(secret)"), .string(secret)],
            "env": .object(["TOKEN=\(secret)": ["deep": [[.string("x\(secret)y")]]]]),
            "n": 1,
        ]
        let redacted = redactor.redact(value)
        #expect(redacted == [
            "argv": ["curl", "-H", .string("Authorization: Bearer \(token)"), .string(token)],
            "env": .object(["TOKEN=\(token)": ["deep": [[.string("x\(token)y")]]]]),
            "n": 1,
        ])
        // Untouched values come back unchanged.
        #expect(redactor.redact(["a": "clean", "b": [1, 2]]) == ["a": "clean", "b": [1, 2]])
    }

    @Test func repeatedSecrets() {
        let redactor = Redactor(secrets: [secret])
        let token = redactor.token(for: secret)
        #expect(redactor.redact(.string("\(secret) and \(secret)\(secret)")) == .string("\(token) and \(token)\(token)"))
    }

    @Test func longerSecretsFirst() {
        let redactor = Redactor(secrets: ["CDE", "ABCDEF"])
        let long = redactor.token(for: "ABCDEF")
        let short = redactor.token(for: "CDE")
        #expect(redactor.redact(.string("xxABCDEFxx CDE")) == .string("xx\(long)xx \(short)"))
    }

    @Test func overlappingSecretsLeaveNoFragment() {
        let redactor = Redactor(secrets: ["ABCD", "CDEF"])
        let first = redactor.token(for: "ABCD")
        let second = redactor.token(for: "CDEF")
        #expect(redactor.redact(.string("<ABCDEF>")) == .string("<\(first)\(second)>"))
        // Self-overlap: "AAA" in "AAAA" occurs twice.
        let repeating = Redactor(secrets: ["ZZZ"])
        let z = repeating.token(for: "ZZZ")
        #expect(repeating.redact(.string("ZZZZ!")) == .string("\(z)\(z)!"))
    }

    @Test func equalSecretsGiveEqualTokensWithinARunOnly() {
        let one = Redactor(secrets: [secret])
        let other = Redactor(secrets: [secret])
        #expect(one.redact(.string(secret)) == one.redact(.string(secret)))
        #expect(one.token(for: secret) != other.token(for: secret))
        #expect(one.token(for: secret) != one.token(for: secret + "X"))
    }

    @Test func addedAtRunTimeEmptyIgnoredUnicode() {
        let redactor = Redactor(secrets: ["", "PÄSSWÖRD-日本"])
        #expect(redactor.redact("keep") == "keep")
        #expect(redactor.redact("a PÄSSWÖRD-日本 b") == .string("a \(redactor.token(for: "PÄSSWÖRD-日本")) b"))
        redactor.add("LATER-CREDENTIAL")
        redactor.add("")
        #expect(redactor.redact("use LATER-CREDENTIAL") == .string("use \(redactor.token(for: "LATER-CREDENTIAL"))"))
    }

    @Test func secretBytesAppearNowhereInTheLog() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log.jsonl"
            let secrets = [secret, "GHP-TOKEN-0123456789", "HUNTER2-PASSWORD"]
            let redactor = Redactor(secrets: [secrets[0], secrets[1]])
            let writer = try ProvenanceWriter.create(
                path: path, runID: testRunID, runKey: .generate(), redactor: redactor, options: .init(checkpointEvery: 3))
            try writer.append("session.start", startFields(extra: ["argv": ["agentrun", .string("--token=\(secrets[0])")]]))
            try writer.append("process.exec", ["argv": ["sh", "-c", .string("echo \(secrets[1]) | curl -d @- x")]])
            redactor.add(secrets[2])
            try writer.append("cred.use", [secrets[2]: ["nested": [.string("p=\(secrets[2])")]]])
            for i in 0..<10 { try writer.append("tool.call", ["input": .string("\(i) \(secrets[i % 3]) \(secrets[i % 3])")]) }
            _ = try writer.finish()
            let bytes = try readFile(path)
            for secret in secrets {
                let needle = Array(secret.utf8)
                let found = (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
                #expect(!found, "\(secret) leaked")
            }
            let content = text(bytes)
            #expect(content.contains(redactor.token(for: secrets[0])))
            #expect(content.contains(redactor.token(for: secrets[2])))
            #expect(LogVerifier.verify(path: path, operatorKey: nil).intact)
        }
    }
}
