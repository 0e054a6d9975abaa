/// Parses the common `agentrun [run] [OPTIONS] -- COMMAND...` without ArgumentParser.
///
/// ArgumentParser's first parse costs ~4 ms of runtime reflection in a static binary, more than
/// everything else agentrun does before the clone. This parser accepts only the plain forms of
/// the run options and returns nil for anything else (help, other subcommands, `=`-less
/// surprises, unknown options, a missing `--`), which then goes through ArgumentParser as usual.
/// A test checks that both parsers agree on every form this one accepts.
public enum FastRunParser {
    public static func parse(_ arguments: [String]) -> RunOptions? {
        var options = RunOptions()
        var i = 0
        if i < arguments.count, arguments[i] == "run" { i += 1 }
        while i < arguments.count {
            let argument = arguments[i]
            if argument == "--" {
                options.command = Array(arguments[(i + 1)...])
                return options.problem == nil ? options : nil
            }
            if argument == "-v" || argument == "--verbose" {
                if options.verbose { return nil }  // ArgumentParser rejects a repeated flag
                options.verbose = true
                i += 1
                continue
            }
            guard let (name, value, consumed) = option(arguments, at: i) else { return nil }
            switch name {
            case "--profile": options.profile = value
            case "--workspace": options.workspace = value
            case "--timeout": options.timeout = value
            case "--env": options.env.append(value)
            case "--log": if options.log != nil { return nil } else { options.log = value }
            case "--sign-key": if options.signKey != nil { return nil } else { options.signKey = value }
            default: return nil
            }
            i += consumed
        }
        return nil
    }

    /// `--name value` or `--name=value`, where value does not look like an option.
    private static func option(_ arguments: [String], at i: Int) -> (String, String, Int)? {
        let argument = arguments[i]
        guard argument.hasPrefix("--") else { return nil }
        if let eq = argument.firstIndex(of: "=") {
            let value = String(argument[argument.index(after: eq)...])
            guard !value.isEmpty else { return nil }
            return (String(argument[..<eq]), value, 1)
        }
        guard i + 1 < arguments.count else { return nil }
        let value = arguments[i + 1]
        guard !value.hasPrefix("-"), !value.isEmpty else { return nil }
        return (argument, value, 2)
    }
}
