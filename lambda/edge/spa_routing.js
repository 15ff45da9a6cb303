// CloudFront Function (cloudfront-js-2.0), viewer request, on the distribution's default behaviour.
//
// Single-page-app routing as in the performance guide: a path that names no file (its last
// segment has no extension) and a path ending in "/" are served /index.html, so the React router
// sees the original URL in the browser. Unlike the guide's `!uri.includes('.')`, only the last
// segment decides: "/v1.2/events" is a route, "/assets/app.3f2a.js" is a file. Never touches
// /api/* (those requests go to the API behaviour; this is a guard) or /.well-known/* (files without
// extensions, such as apple-app-site-association). The query string is left as it is.

function isRealFileName(segment) {
    var name = segment;
    try {
        name = decodeURIComponent(segment);
    } catch (e) {
        // A malformed escape: treat it as a file name, so S3 answers for it, never the app.
        return true;
    }
    var dot = name.lastIndexOf('.');
    return dot > 0 && dot < name.length - 1;
}

function handler(event) {
    var request = event.request;
    var uri = request.uri || '/';
    if (uri === '/api' || uri.indexOf('/api/') === 0 || uri.indexOf('/.well-known/') === 0) {
        return request;
    }
    if (uri.charAt(uri.length - 1) === '/') {
        request.uri = '/index.html';
        return request;
    }
    var segment = uri.substring(uri.lastIndexOf('/') + 1);
    if (!isRealFileName(segment)) {
        request.uri = '/index.html';
    }
    return request;
}
