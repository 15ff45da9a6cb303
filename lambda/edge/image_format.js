// CloudFront Function (cloudfront-js-2.0), viewer request, on the /images/* behaviour.
//
// Image format negotiation: a request for /images/<name>.jpg, .jpeg or .png whose Accept header
// names image/avif (preferred) or image/webp with a quality above zero is rewritten to
// /images/<name>.avif or .webp, the variants the SPA's build writes next to every image. The
// cache key is the rewritten URI: it varies on the negotiated format (three entries per image at
// most), never on the raw Accept header, which differs between every browser version. Wildcards
// (image/*, */*) do not count: a client that names no modern format gets the original.

var FORMATS = [
    { extension: 'avif', mediaType: 'image/avif' },
    { extension: 'webp', mediaType: 'image/webp' }
];
var NEGOTIABLE = /^(\/images\/.+)\.(jpe?g|png)$/i;

function accepts(accept, mediaType) {
    var ranges = accept.split(',');
    for (var i = 0; i < ranges.length; i++) {
        var parts = ranges[i].split(';');
        if (parts[0].trim().toLowerCase() !== mediaType) {
            continue;
        }
        var quality = 1;
        for (var j = 1; j < parts.length; j++) {
            var parameter = parts[j].trim().toLowerCase();
            if (parameter.indexOf('q=') === 0) {
                quality = parseFloat(parameter.substring(2));
            }
        }
        return quality > 0;
    }
    return false;
}

function handler(event) {
    var request = event.request;
    var match = NEGOTIABLE.exec(request.uri || '');
    var header = request.headers && request.headers.accept;
    if (!match || !header || typeof header.value !== 'string') {
        return request;
    }
    for (var i = 0; i < FORMATS.length; i++) {
        if (accepts(header.value, FORMATS[i].mediaType)) {
            request.uri = match[1] + '.' + FORMATS[i].extension;
            return request;
        }
    }
    return request;
}
