import AgentrunJSON
import Testing
@testable import AgentrunPolicy

@Suite struct InputSchemaTests {
    func validator(_ schema: JSON) throws -> InputSchemaValidator {
        try InputSchemaValidator.compile(schema).get()
    }

    func problem(_ schema: JSON, _ value: String) throws -> String? {
        try validator(schema).validate(try JSON.parse(value))
    }

    @Test func types() throws {
        #expect(try problem(["type": "integer"], "2.0") == nil)
        #expect(try problem(["type": "integer"], "1e2") == nil)
        #expect(try problem(["type": "integer"], "2.5") == "the arguments: expected integer, found a number")
        #expect(try problem(["type": "number"], "2") == nil)
        #expect(try problem(["type": ["string", "null"]], "null") == nil)
        #expect(try problem(["type": ["string", "null"]], "1") == "the arguments: expected string or null, found an integer")
        #expect(try problem(["type": "boolean"], "\"true\"") == "the arguments: expected boolean, found a string")
    }

    @Test func objects() throws {
        let schema: JSON = [
            "type": "object", "properties": ["a": ["type": "string"], "b/c": ["type": "integer"]], "required": ["a"],
            "additionalProperties": false,
        ]
        #expect(try problem(schema, #"{"a": "x"}"#) == nil)
        #expect(try problem(schema, #"{}"#) == "missing required property 'a'")
        #expect(try problem(schema, #"{"a": "x", "z": 1}"#) == "'/z': property 'z' is not allowed (allowed: a, b/c)")
        #expect(try problem(schema, #"{"a": "x", "b/c": "1"}"#) == "'/b~1c': expected integer, found a string")
        #expect(try problem(["type": "object"], #"{"anything": [1]}"#) == nil)
    }

    @Test func stringsNumbersArrays() throws {
        #expect(try problem(["minLength": 2, "maxLength": 3], #""é""#) == "the arguments: shorter than 2 characters")
        #expect(try problem(["minLength": 2, "maxLength": 3], #""ééé""#) == nil)
        #expect(try problem(["maxLength": 3], #""abcd""#) == "the arguments: longer than 3 characters")
        // Patterns are unanchored, as JSON Schema says.
        #expect(try problem(["pattern": "[0-9]"], #""ab1c""#) == nil)
        #expect(try problem(["pattern": "^[0-9]+$"], #""ab1c""#) == "the arguments: does not match the pattern ^[0-9]+$")
        #expect(try problem(["minimum": 1, "maximum": 10], "0") == "the arguments: less than the minimum 1")
        #expect(try problem(["minimum": 1, "maximum": 10], "10") == nil)
        #expect(try problem(["exclusiveMaximum": 10], "10") == "the arguments: must be less than 10")
        #expect(try problem(["exclusiveMinimum": 0], "0.001") == nil)
        #expect(try problem(["minimum": 1], #""0""#) == nil)  // numeric keywords ignore other types
        let list: JSON = ["type": "array", "items": ["type": "string"], "minItems": 1, "maxItems": 2]
        #expect(try problem(list, #"["a"]"#) == nil)
        #expect(try problem(list, #"[]"#) == "the arguments: fewer than 1 items")
        #expect(try problem(list, #"["a", "b", "c"]"#) == "the arguments: more than 2 items")
        #expect(try problem(list, #"["a", 2]"#) == "'/1': expected string, found an integer")
    }

    @Test func enumAndConst() throws {
        #expect(try problem(["enum": ["a", 1]], "1.0") == nil)
        #expect(try problem(["enum": ["a", 1]], #""b""#) == #"the arguments: must be one of "a", 1"#)
        #expect(try problem(["const": ["x": 1]], #"{"x": 1}"#) == nil)
        #expect(try problem(["const": nil], "0") == "the arguments: must be null")
    }

    @Test func annotationsIgnoredOtherKeywordsRefused() throws {
        _ = try validator(["title": "t", "description": "d", "default": 1, "examples": [1], "$schema": "x", "$comment": "c"])
        for keyword in ["oneOf", "$ref", "format", "patternProperties", "if"] {
            let result = InputSchemaValidator.compile(["type": "object", "properties": ["a": [keyword: "x"]]])
            guard case .failure(let error) = result else {
                Issue.record("\(keyword) accepted")
                continue
            }
            #expect(error.pointer == "/properties/a/\(keyword)")
            #expect(error.message.hasPrefix("unsupported JSON Schema keyword '\(keyword)'"))
        }
        #expect(throws: SchemaError.self) { try InputSchemaValidator.compile(["type": "objet"]).get() }
        #expect(throws: SchemaError.self) { try InputSchemaValidator.compile(["exclusiveMinimum": true]).get() }
        #expect(throws: SchemaError.self) { try InputSchemaValidator.compile(["additionalProperties": ["type": "string"]]).get() }
        #expect(throws: SchemaError.self) { try InputSchemaValidator.compile(["items": [["type": "string"]]]).get() }
        #expect(throws: SchemaError.self) { try InputSchemaValidator.compile(["pattern": "("]).get() }
        #expect(throws: SchemaError.self) { try InputSchemaValidator.compile(["minLength": -1]).get() }
        #expect(throws: SchemaError.self) {
            try InputSchemaValidator.compile(["required": ["x"], "additionalProperties": false]).get()
        }
    }
}

@Suite struct GlobAndPathTests {
    func glob(_ pattern: String) throws -> GlobPattern { try GlobPattern.compile(pattern).get() }

    @Test func globs() throws {
        #expect(try glob("*.txt").matches("a.txt"))
        #expect(try !glob("*.txt").matches("dir/a.txt"))
        #expect(try glob("**.txt").matches("dir/a.txt"))
        #expect(try glob("src/**/*.swift").matches("src/a/b/c.swift"))
        #expect(try !glob("src/**/*.swift").matches("src/c.swift"))
        #expect(try glob("a?c").matches("abc"))
        #expect(try !glob("a?c").matches("a/c"))
        #expect(try glob("[a-c]x").matches("bx"))
        #expect(try !glob("[!a-c]x").matches("bx"))
        #expect(try glob("[^a-c]x").matches("dx"))
        #expect(try !glob("[!a]").matches("/"))
        #expect(try glob("[]]").matches("]"))
        #expect(try glob("\\*").matches("*"))
        #expect(try !glob("\\*").matches("a"))
        #expect(try glob("*").matches(""))
        #expect(try !glob("abc").matches("abcd"))
        #expect(try glob("é*").matches("éa"))
        #expect(throws: GlobSyntaxError.self) { try GlobPattern.compile("[abc").get() }
        #expect(throws: GlobSyntaxError.self) { try GlobPattern.compile("ab\\").get() }
        #expect(throws: GlobSyntaxError.self) { try GlobPattern.compile("[z-a]").get() }
    }

    @Test func globIsLinearOnHostileInput() throws {
        let pattern = try glob("*a*a*a*a*a*a*a*a*b")
        let text = String(repeating: "a", count: 20_000)
        let start = ContinuousClock.now
        #expect(!pattern.matches(text))
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func normalization() {
        #expect(PathNormalization.normalize("/a//b/./c/../d/") == "/a/b/d")
        #expect(PathNormalization.normalize("/../../etc") == "/etc")
        #expect(PathNormalization.normalize("/") == "/")
        #expect(PathNormalization.normalize("//") == "/")
        #expect(PathNormalization.normalize("a/b") == nil)
        #expect(PathNormalization.normalize("") == nil)
        #expect(PathNormalization.isUnder("/a/b", "/a/b"))
        #expect(PathNormalization.isUnder("/a/b/c", "/a/b"))
        #expect(!PathNormalization.isUnder("/a/bc", "/a/b"))
        #expect(!PathNormalization.isUnder("/a", "/a/b"))
        #expect(PathNormalization.isUnder("/anything", "/"))
    }

    @Test func templates() throws {
        #expect(try TemplateSyntax.parse("--file={path}").get() == [.literal("--file="), .argument("path")])
        #expect(try TemplateSyntax.parse("Bearer {secret:gh}").get() == [.literal("Bearer "), .secret("gh")])
        #expect(try TemplateSyntax.parse("{{\"a\": {n}}}").get() == [.literal("{\"a\": "), .argument("n"), .literal("}")])
        #expect(throws: TemplateSyntaxError.self) { try TemplateSyntax.parse("{open").get() }
        #expect(throws: TemplateSyntaxError.self) { try TemplateSyntax.parse("close}").get() }
        #expect(throws: TemplateSyntaxError.self) { try TemplateSyntax.parse("{a b}").get() }
        #expect(throws: TemplateSyntaxError.self) { try TemplateSyntax.parse("{secret:}").get() }
    }
}
