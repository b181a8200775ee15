/// A small regular expression: literal characters, `.` (any character but a newline), `\b` (word
/// boundary), each optionally followed by `?` or `*`. That is all the red-flag patterns use, and a
/// value type keeps the table `Sendable` and its matching free of hidden state. Matching is
/// case-sensitive; the texts it runs on are already lower-cased.
public struct TextPattern: Sendable, Equatable {
    enum Atom: Equatable {
        case scalar(Unicode.Scalar)
        case anyButNewline
        case wordBoundary
    }

    enum Repeat: Equatable { case once, optional, any }

    let atoms: [(atom: Atom, repeat: Repeat)]

    public init(_ source: String) {
        var atoms: [(atom: Atom, repeat: Repeat)] = []
        var scalars = source.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            switch scalar {
            case "?": atoms[atoms.count - 1].repeat = .optional
            case "*": atoms[atoms.count - 1].repeat = .any
            case ".": atoms.append((.anyButNewline, .once))
            case "\\":
                let escaped = scalars.next()!
                atoms.append((escaped == "b" ? .wordBoundary : .scalar(escaped), .once))
            default: atoms.append((.scalar(scalar), .once))
            }
        }
        self.atoms = atoms
    }

    public static func == (lhs: TextPattern, rhs: TextPattern) -> Bool {
        lhs.atoms.elementsEqual(rhs.atoms) { $0.atom == $1.atom && $0.repeat == $1.repeat }
    }

    /// Whether the pattern matches anywhere in `text`.
    public func matches(in text: [Unicode.Scalar]) -> Bool {
        (0...text.count).contains { match(atom: 0, at: $0, in: text) }
    }

    private func match(atom index: Int, at position: Int, in text: [Unicode.Scalar]) -> Bool {
        guard index < atoms.count else { return true }
        let (atom, repeatKind) = atoms[index]
        switch repeatKind {
        case .once:
            guard let next = step(atom, at: position, in: text) else { return false }
            return match(atom: index + 1, at: next, in: text)
        case .optional:
            if let next = step(atom, at: position, in: text), match(atom: index + 1, at: next, in: text) { return true }
            return match(atom: index + 1, at: position, in: text)
        case .any:
            // Greedy: take as many as possible, then back off.
            var positions = [position]
            while let next = step(atom, at: positions.last!, in: text), next != positions.last! { positions.append(next) }
            return positions.reversed().contains { match(atom: index + 1, at: $0, in: text) }
        }
    }

    /// Where the text continues after `atom` matched at `position`, or nil.
    private func step(_ atom: Atom, at position: Int, in text: [Unicode.Scalar]) -> Int? {
        switch atom {
        case .scalar(let scalar):
            return position < text.count && text[position] == scalar ? position + 1 : nil
        case .anyButNewline:
            return position < text.count && text[position] != "\n" ? position + 1 : nil
        case .wordBoundary:
            let before = position > 0 && TriageText.isWordScalar(text[position - 1])
            let after = position < text.count && TriageText.isWordScalar(text[position])
            return before != after ? position : nil
        }
    }
}
