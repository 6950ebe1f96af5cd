import Foundation

/// Python's `glob.glob(pattern, recursive=True)`, as the reference lists dataset folders and predict sources.
///
/// `*`, `?` and `[...]` match within one path component; a whole component `**` matches zero or more folders.
/// Symbolic links are followed, to files and to folders alike, and a link whose target is gone still matches (the
/// reader then reports it). Wildcards skip hidden names (a leading dot) unless the component starts with a dot.
/// Where Python loops through a link back to a folder it is already inside until the system says ELOOP, this
/// does not enter such a folder again. Matches come in no particular order.
enum PathGlob {
    /// The paths matching `pattern` (absolute, or relative to the current folder and then spelled relative).
    static func matches(_ pattern: String) -> [String] {
        let components = pattern.split(separator: "/").map(String.init)
        // The leading components without wildcards are a folder to start from, as spelled.
        let literal = components.prefix { !hasMagic($0) }.count
        if literal == components.count {
            return lexists(pattern) ? [pattern] : []
        }
        var root = components[..<literal].joined(separator: "/")
        if pattern.hasPrefix("/") { root = "/" + root }
        return matches(in: root, Array(components[literal...]))
    }

    /// The paths under the folder `root` (taken literally, wildcards and all) matching `components` (e.g.
    /// `["**", "*.*"]`), spelled as `root` + `/` + the matched names.
    static func matches(in root: String, _ components: [String]) -> [String] {
        var found: [String] = []
        var trimmed = root
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        expand(trimmed, components[...], ancestors: [], into: &found)
        return found
    }

    static func hasMagic(_ component: String) -> Bool { component.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

    // MARK: -

    private static func expand(
        _ base: String, _ rest: ArraySlice<String>, ancestors: Set<String>, into found: inout [String]
    ) {
        guard let component = rest.first else { return }
        let last = rest.count == 1
        if component == "**" {
            // This folder stands for zero folders; then every folder below it, each once along any one path.
            guard let here = realPath(base), !ancestors.contains(here) else { return }
            let inside = ancestors.union([here])
            if !last { expand(base, rest.dropFirst(), ancestors: inside, into: &found) }
            for name in entries(of: base) where !name.hasPrefix(".") {
                let path = join(base, name)
                if last { found.append(path) }
                if isDirectory(path) { expand(path, rest, ancestors: inside, into: &found) }
            }
        } else if !hasMagic(component) {
            let path = join(base, component)
            if last {
                if lexists(path) { found.append(path) }
            } else if isDirectory(path) {
                expand(path, rest.dropFirst(), ancestors: ancestors, into: &found)
            }
        } else {
            let hidden = component.hasPrefix(".")
            for name in entries(of: base) where (hidden || !name.hasPrefix(".")) && matches(name, component) {
                let path = join(base, name)
                if last {
                    found.append(path)
                } else if isDirectory(path) {
                    expand(path, rest.dropFirst(), ancestors: ancestors, into: &found)
                }
            }
        }
    }

    /// The names in a folder; none when it cannot be listed (as Python's glob ignores such errors).
    private static func entries(of folder: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []
    }

    private static func join(_ base: String, _ name: String) -> String {
        base.isEmpty ? name : base.hasSuffix("/") ? base + name : base + "/" + name
    }

    /// Python's fnmatch on POSIX: case-sensitive, a backslash is an ordinary character.
    private static func matches(_ name: String, _ pattern: String) -> Bool {
        fnmatch(pattern, name, FNM_NOESCAPE) == 0
    }

    /// A folder, or a link to one.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path.isEmpty ? "." : path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Exists, as a file, a folder or a link (whether or not its target does).
    static func lexists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path.isEmpty ? "." : path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
