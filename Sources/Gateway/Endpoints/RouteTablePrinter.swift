import ServiceKit

/// The route table as `mysehat check` and `mysehat routes` print it.
public enum RouteTablePrinter {
    public static func render(_ config: GatewayConfig) -> String {
        var rows: [[String]] = [["ROUTE", "METHODS", "TARGET", "KIND", "POLICY", "SOURCE"]]
        for entry in config.routes.entries {
            let target: String
            switch entry.target {
            case .swift(let service): target = service.name
            case .lua(let lua): target = "lua:" + lua.declaration.name
            case .upstream(let upstream, let supervised):
                target = "\(upstream.scheme)://\(upstream.host):\(upstream.port)\(upstream.basePath)" + (supervised != nil ? " (supervised)" : "")
            }
            let rewrite = entry.rewrite.map { " -> \($0)" } ?? ""
            rows.append([
                entry.match.description, entry.methods?.map(\.rawValue).joined(separator: ",") ?? "*", target + rewrite, entry.target.kind,
                entry.policyName ?? (entry.policy.auth == .none && entry.policy.rateLimits.isEmpty ? "-" : "inline"), entry.location.description,
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// The OpenAPI document as text, for `mysehat openapi`.
public enum OpenAPIExport {
    public static func json(_ config: GatewayConfig, version: String) -> String {
        JSON.encodeString(OpenAPIDocument(config: config, version: version).build())
    }
}
