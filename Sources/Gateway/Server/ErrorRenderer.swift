import HTTPTypes
import HummingbirdCore
import ServiceKit

/// Writes errors in the route's format: `{"detail": ..., "request_id": ...}` or, on FHIR routes,
/// an OperationOutcome.
enum ErrorRenderer {
    static func response(for error: ServiceError, requestID: String, format: Policy.ErrorFormat = .json) -> Response {
        var headers = error.headers
        switch format {
        case .json:
            var body = error.body
            body["request_id"] = .string(requestID)
            return .json(body, status: error.status, headers: headers)
        case .fhir:
            let text = error.detail.stringValue ?? JSON.encodeString(error.detail)
            var issue: JSONObject = [
                "severity": "error",
                "code": .string(fhirIssueCode(error.status)),
                "diagnostics": .string(text),
            ]
            if let consent = error.extra["required_consent"] { issue["details"] = ["text": .string("required_consent: \(consent.stringValue ?? "")")] }
            let outcome: JSONObject = [
                "resourceType": "OperationOutcome",
                "id": .string(requestID),
                "issue": [.object(issue)],
            ]
            headers[.contentType] = "application/fhir+json"
            var response = Response.json(.object(outcome), status: error.status, headers: headers)
            response.headers[.contentType] = "application/fhir+json"
            return response
        }
    }

    static func fhirIssueCode(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400, 422: "invalid"
        case 401: "login"
        case 403: "forbidden"
        case 404: "not-found"
        case 405, 406, 415: "not-supported"
        case 413: "too-costly"
        case 429: "throttled"
        case 504: "timeout"
        case 500...: "exception"
        default: "processing"
        }
    }
}
