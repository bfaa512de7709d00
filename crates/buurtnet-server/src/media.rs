//! Photos sent with an action: only JPEG and PNG are accepted, decoded within limits (no
//! decompression bombs), scaled to at most 1280 pixels a side and re-encoded as JPEG — which
//! also drops every piece of metadata (EXIF location, camera serials) the original carried.

use image::ImageReader;
use std::io::Cursor;

/// The largest upload taken.
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;
/// Photos per action.
pub const MAX_PHOTOS: i64 = 3;
/// The longest side after scaling.
const MAX_SIDE: u32 = 1280;

/// Why a photo was refused (a message for the person who uploaded it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// A photo ready to store and send.
pub struct Photo {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Checks, scales and re-encodes an uploaded photo.
pub fn reencode(bytes: &[u8]) -> Result<Photo, Refused> {
    reencode_accepting(bytes, MAX_UPLOAD_BYTES, &[image::ImageFormat::Jpeg, image::ImageFormat::Png], "a JPEG or PNG photo")
}

/// Checks, scales and re-encodes a photo of one of `formats` (told by its content, never its
/// name) of at most `max_bytes`; `kinds` names them for the person ("a JPEG or PNG photo").
pub fn reencode_accepting(bytes: &[u8], max_bytes: usize, formats: &[image::ImageFormat], kinds: &str) -> Result<Photo, Refused> {
    if bytes.is_empty() {
        return Err(Refused("The photo is empty.".into()));
    }
    if bytes.len() > max_bytes {
        return Err(Refused(format!("The photo is larger than {} MB.", max_bytes / (1024 * 1024))));
    }
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| Refused("The photo cannot be read.".into()))?;
    match reader.format() {
        Some(f) if formats.contains(&f) => {}
        _ => return Err(Refused(format!("Send {kinds}."))),
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Refused("The photo has too many pixels (at most 12,000 a side).".into()),
        _ => Refused(format!("The photo cannot be read (damaged, or not really {kinds}).")),
    })?;
    let too_big = || Refused("The photo could not be converted.".into());
    let rgb = scaled_rgb(decoded.into_rgb8()).ok_or_else(too_big)?;
    let (width, height) = (rgb.width(), rgb.height());
    let (w, h) = (u16::try_from(width).map_err(|_| too_big())?, u16::try_from(height).map_err(|_| too_big())?);
    // `jpeg-encoder` rather than `image`'s own encoder: the encode was most of an upload's
    // cost, and this made `bench replies` about 2.5 times faster (BENCHMARKS.md).
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80).encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb).map_err(|_| too_big())?;
    Ok(Photo { jpeg, width, height })
}

/// The picture scaled to at most [`MAX_SIDE`] pixels a side (aspect kept), with
/// `fast_image_resize`'s SIMD bilinear convolution: for a 4-megapixel phone photo about a tenth
/// of what `image`'s own resize took, which was most of an upload's cost.
fn scaled_rgb(rgb: image::RgbImage) -> Option<image::RgbImage> {
    use fast_image_resize as fr;
    let (w, h) = rgb.dimensions();
    if w <= MAX_SIDE && h <= MAX_SIDE {
        return Some(rgb);
    }
    let factor = f64::from(MAX_SIDE) / f64::from(w.max(h));
    let side = |v: u32| ((f64::from(v) * factor).round() as u32).clamp(1, MAX_SIDE);
    let (nw, nh) = (side(w), side(h));
    let src = fr::images::Image::from_vec_u8(w, h, rgb.into_raw(), fr::PixelType::U8x3).ok()?;
    let mut dst = fr::images::Image::new(nw, nh, fr::PixelType::U8x3);
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear));
    fr::Resizer::new().resize(&src, &mut dst, &options).ok()?;
    image::RgbImage::from_raw(nw, nh, dst.into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn photos_are_scaled_and_become_jpeg() {
        let p = reencode(&png(2000, 1000)).unwrap();
        assert_eq!((p.width, p.height), (1280, 640));
        assert_eq!(&p.jpeg[..2], &[0xFF, 0xD8], "a JPEG");
        let small = reencode(&png(40, 30)).unwrap();
        assert_eq!((small.width, small.height), (40, 30));
    }

    #[test]
    fn scaling_keeps_the_picture() {
        // Left half dark, right half light, 3000 × 1500: scaled to 1280 × 640 and back.
        let img =
            image::RgbImage::from_fn(
                3000,
                1500,
                |x, _| if x < 1500 { image::Rgb([20, 20, 20]) } else { image::Rgb([230, 230, 230]) },
            );
        let scaled = scaled_rgb(img).unwrap();
        assert_eq!(scaled.dimensions(), (1280, 640));
        assert!(scaled.get_pixel(100, 320)[0] < 40 && scaled.get_pixel(1180, 320)[0] > 210);
        let odd = scaled_rgb(image::RgbImage::new(1281, 3)).unwrap();
        assert_eq!(odd.dimensions(), (1280, 3));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(reencode(b"").is_err());
        assert!(reencode(b"GIF89a....").is_err());
        assert!(reencode(b"\x89PNG\r\n\x1a\nbroken").is_err());
        assert!(reencode(&vec![0u8; MAX_UPLOAD_BYTES + 1]).is_err());
    }
}
