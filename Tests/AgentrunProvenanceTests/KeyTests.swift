@testable import AgentrunProvenance
import AgentrunOS
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct KeyTests {
    /// The RFC 8032 test 1 key pair.
    let seedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    let publicHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

    func pem(_ label: String, _ der: [UInt8]) -> String {
        "-----BEGIN \(label)-----\n" + base64(der) + "\n-----END \(label)-----\n"
    }

    func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let n = (UInt32(chunk[0]) << 16) | (UInt32(chunk.count > 1 ? chunk[1] : 0) << 8) | UInt32(chunk.count > 2 ? chunk[2] : 0)
            for position in 0..<4 {
                out.append(position <= chunk.count ? alphabet[Int((n >> (18 - 6 * UInt32(position))) & 63)] : "=")
            }
            index += 3
        }
        return out
    }

    @Test func operatorKeyForms() throws {
        try withTemporaryDirectory { dir in
            let seed = try #require(Hex.decode(seedHex.utf8))
            let forms = [
                "hex": seedHex + "\n",
                "HEX": seedHex.uppercased(),
                "base64": base64(seed) + "\n",
                "pem": pem("PRIVATE KEY", KeyEncoding.pkcs8(seed: seed)),
            ]
            for (name, content) in forms {
                try writeFile(dir + "/" + name, Array(content.utf8))
                let key = try OperatorKey.load(path: dir + "/" + name)
                #expect(key.publicKeyHex == publicHex, "\(name)")
            }
            try writeFile(dir + "/public.pem", Array(pem("PUBLIC KEY", KeyEncoding.spki(Hex.decode(publicHex.utf8) ?? [])).utf8))
            #expect(throws: ProvenanceError.self) { try OperatorKey.load(path: dir + "/public.pem") }
            try writeFile(dir + "/encrypted", Array(pem("ENCRYPTED PRIVATE KEY", [1, 2, 3]).utf8))
            #expect(throws: ProvenanceError.self) { try OperatorKey.load(path: dir + "/encrypted") }
            try writeFile(dir + "/garbage", Array("not a key\n".utf8))
            #expect(throws: ProvenanceError.self) { try OperatorKey.load(path: dir + "/garbage") }
            try writeFile(dir + "/two", Array("\(seedHex)\n\(seedHex)\n".utf8))
            #expect(throws: ProvenanceError.self) { try OperatorKey.load(path: dir + "/two") }
            #expect(throws: ProvenanceError.self) { try OperatorKey.load(path: dir + "/missing") }
        }
    }

    @Test func operatorPublicKeyForms() throws {
        try withTemporaryDirectory { dir in
            let raw = try #require(Hex.decode(publicHex.utf8))
            #expect(try OperatorPublicKey.load(publicHex).hex == publicHex)
            #expect(try OperatorPublicKey.load(base64(raw)).hex == publicHex)
            let spki = pem("PUBLIC KEY", KeyEncoding.spki(raw))
            #expect(try OperatorPublicKey.load(spki).hex == publicHex)
            try writeFile(dir + "/pub.pem", Array(spki.utf8))
            #expect(try OperatorPublicKey.load(dir + "/pub.pem").hex == publicHex)
            try writeFile(dir + "/pub.hex", Array((publicHex + "\n").utf8))
            #expect(try OperatorPublicKey.load(dir + "/pub.hex").hex == publicHex)
            // The private key file works too: its public half is used.
            try writeFile(dir + "/key.pem", Array(pem("PRIVATE KEY", KeyEncoding.pkcs8(seed: Hex.decode(seedHex.utf8) ?? [])).utf8))
            #expect(try OperatorPublicKey.load(dir + "/key.pem").hex == publicHex)
            #expect(throws: ProvenanceError.self) { try OperatorPublicKey.load(dir + "/missing.pem") }
            #expect(throws: ProvenanceError.self) { try OperatorPublicKey.load("abcd") }
        }
    }

    /// With openssl installed, a key made by `openssl genpkey -algorithm ed25519` loads.
    @Test(.enabled(if: Files.kind("/usr/bin/openssl") == .regular, "needs openssl"))
    func opensslKeys() throws {
        try withTemporaryDirectory { dir in
            let key = dir + "/op.pem"
            let pub = dir + "/op.pub"
            #expect(run(["/usr/bin/openssl", "genpkey", "-algorithm", "ed25519", "-out", key]) == 0)
            #expect(run(["/usr/bin/openssl", "pkey", "-in", key, "-pubout", "-out", pub]) == 0)
            let loaded = try OperatorKey.load(path: key)
            #expect(try OperatorPublicKey.load(pub).hex == loaded.publicKeyHex)
        }
    }

    @Test func certificateVerifies() throws {
        try withTemporaryDirectory { dir in
            let seed = try #require(Hex.decode(seedHex.utf8))
            try writeFile(dir + "/op", Array(seedHex.utf8))
            let operatorKey = try OperatorKey.load(path: dir + "/op")
            let publicKey = try OperatorPublicKey.load(publicHex)
            let runKey = RunKey.generate()
            let cert = operatorKey.certify(runID: testRunID, runKey: runKey)
            #expect(cert["operator_key"] == .string(publicHex))
            _ = seed

            let certified = dir + "/certified.jsonl"
            try writeLog(certified, count: 12, runKey: runKey, start: startFields(extra: ["run_key_cert": cert]))
            let good = LogVerifier.verify(path: certified, operatorKey: publicKey)
            #expect(good.intact, "\(good)")
            #expect(good.certifiedBy == publicHex)
            #expect(good.description.contains(publicHex))

            // Another operator's key.
            let other = try OperatorPublicKey.load(RunKey.generate().publicKeyHex)
            let wrong = LogVerifier.verify(path: certified, operatorKey: other)
            #expect(wrong.problem?.kind == .badCertificate)
            #expect(wrong.problem?.seq == 1)

            // No certificate at all.
            let plain = dir + "/plain.jsonl"
            try writeLog(plain, count: 3)
            #expect(LogVerifier.verify(path: plain, operatorKey: nil).intact)
            let missing = LogVerifier.verify(path: plain, operatorKey: publicKey)
            #expect(missing.problem?.kind == .badCertificate)
            #expect(missing.problem?.seq == 1)

            // A certificate for another run key (copied from a genuine log): the signature fails.
            let copied = dir + "/copied.jsonl"
            try writeLog(copied, count: 3, start: startFields(extra: ["run_key_cert": cert]))
            let forged = LogVerifier.verify(path: copied, operatorKey: publicKey)
            #expect(forged.problem?.kind == .badCertificate)
        }
    }

    @Test func runKeySigns() throws {
        let key = RunKey.generate()
        #expect(key.publicKeyHex.count == 64)
        let signature = key.sign(Array("message".utf8))
        #expect(signature.count == 64)
        let publicKey = try #require(Ed25519.publicKey(key.publicKey))
        #expect(Ed25519.isValid(signature: signature, message: Array("message".utf8), key: publicKey))
        #expect(!Ed25519.isValid(signature: signature, message: Array("massage".utf8), key: publicKey))
        #expect(RunKey.generate().publicKeyHex != key.publicKeyHex)
    }
}

/// Runs a program and returns its exit status.
func run(_ argv: [String]) -> Int32 {
    var pid = pid_t()
    var cArgs = argv.map { strdup($0) }
    cArgs.append(nil)
    defer { for arg in cArgs { free(arg) } }
    guard posix_spawn(&pid, argv[0], nil, nil, cArgs, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status >> 8) & 0xff
}
