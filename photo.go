package contactgraph

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
)

// MaxPhotoBytes is the largest contact photo: 4 MiB, Graph's limit on a
// whole REST request ("under 4 MB"), whatever limit the server puts on
// other request bodies.
const MaxPhotoBytes = 4 << 20

// Media types of contact photos.
const (
	PhotoJPEG = "image/jpeg"
	PhotoPNG  = "image/png"
)

// Photo is a contact's picture (Graph's profilePhoto). Its bytes are kept
// by the store beside the contact, never in the contact's document.
type Photo struct {
	ContentType string // PhotoJPEG or PhotoPNG, from the bytes
	Width       int    // from the image header
	Height      int
	Size        int64
	// MediaETag is the photo's @odata.mediaEtag: a quoted digest of the
	// bytes, so that two uploads of the same image have the same tag.
	MediaETag string
	Data      []byte // nil when read without the bytes
}

// ID returns the photo's Graph id, "<width>x<height>".
func (p *Photo) ID() string { return fmt.Sprintf("%dx%d", p.Width, p.Height) }

// ParsePhoto checks an uploaded contact photo and reads its dimensions from
// the image header (only the header is decoded). contentType is the
// request's Content-Type: image/jpeg (or image/jpg) and image/png are
// checked against the bytes; application/octet-stream, which the official
// SDKs send for every binary upload, and an empty type let the bytes say
// which of the two they are. Errors: EUnsupportedMedia for any other media
// type, ETooLarge over MaxPhotoBytes, EInvalid for an empty body, bytes that
// are neither JPEG nor PNG, bytes of the other type than declared, or a
// header that does not decode.
//
// The decoders are called by format rather than through image.DecodeConfig,
// whose registry would accept any format another package of the binary
// registers (GIF, say).
func ParsePhoto(contentType string, data []byte) (Photo, error) {
	declared, err := photoMediaType(contentType)
	if err != nil {
		return Photo{}, err
	}
	if len(data) == 0 {
		return Photo{}, Errorf(EInvalid, "The request body is empty: send the photo's bytes.")
	}
	if len(data) > MaxPhotoBytes {
		return Photo{}, Errorf(ETooLarge, "The photo is larger than the limit of %d bytes.", MaxPhotoBytes)
	}
	kind := SniffPhoto(data)
	if kind == "" {
		return Photo{}, Errorf(EInvalid, "The photo is neither a JPEG nor a PNG image.")
	}
	if declared != "" && declared != kind {
		return Photo{}, Errorf(EInvalid, "The photo is a %s image, but the request's Content-Type says %s.", kind, declared)
	}
	var cfg image.Config
	if kind == PhotoJPEG {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	} else {
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return Photo{}, Errorf(EInvalid, "The header of the %s photo cannot be read.", kind)
	}
	sum := sha256.Sum256(data)
	return Photo{
		ContentType: kind,
		Width:       cfg.Width,
		Height:      cfg.Height,
		Size:        int64(len(data)),
		MediaETag:   `"` + strings.ToUpper(hex.EncodeToString(sum[:8])) + `"`,
		Data:        data,
	}, nil
}

// photoMediaType returns the photo type a Content-Type declares, "" when
// it leaves the choice to the bytes.
func photoMediaType(contentType string) (string, error) {
	mt, _, _ := strings.Cut(contentType, ";")
	switch mt = strings.ToLower(strings.TrimSpace(mt)); mt {
	case "", "application/octet-stream":
		return "", nil
	case PhotoJPEG, "image/jpg":
		return PhotoJPEG, nil
	case PhotoPNG:
		return PhotoPNG, nil
	}
	return "", Errorf(EUnsupportedMedia, "The Content-Type '%s' is not supported for a contact photo: send image/jpeg or image/png.", Truncate(mt, 128))
}

// SniffPhoto returns the photo type of data by its signature (PhotoJPEG or
// PhotoPNG), "" for neither.
func SniffPhoto(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return PhotoJPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PhotoPNG
	}
	return ""
}
