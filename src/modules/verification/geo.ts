/**
 * Great-circle distances for the scan rules (IMPOSSIBLE_TRAVEL). Pure functions, no I/O.
 *
 * A sphere of the IUGG mean Earth radius is accurate to about 0.5 % against the WGS 84 ellipsoid,
 * which is far finer than the rules need (a 100 km floor and a 1,000 km/h ceiling), so Vincenty's
 * iterative ellipsoidal formula would add cost and failure modes (antipodal non-convergence) for nothing.
 *
 * @module
 */

/** IUGG mean Earth radius R1 = (2a + b) / 3, in kilometres. */
export const EARTH_MEAN_RADIUS_KM = 6371.0088;

/** A point in decimal degrees (WGS 84 latitude and longitude, as browsers and phones report them). */
export type LatLon = { lat: number; lon: number };

/**
 * Whether the pair is a usable position: finite numbers, latitude in [-90, 90], longitude in
 * [-180, 180]. Accepts anything so raw input (strings, null, NaN) can be screened before use.
 */
export function validCoordinates(lat: unknown, lon: unknown): boolean {
  return (
    typeof lat === 'number' &&
    typeof lon === 'number' &&
    Number.isFinite(lat) &&
    Number.isFinite(lon) &&
    lat >= -90 &&
    lat <= 90 &&
    lon >= -180 &&
    lon <= 180
  );
}

const RAD = Math.PI / 180;

/**
 * Great-circle distance in kilometres by the haversine formula. The intermediate value is clamped
 * to [0, 1] so rounding near the antipode cannot produce `asin(>1) = NaN`.
 *
 * @throws RangeError when either point is not {@link validCoordinates} — a NaN distance would make
 *   every comparison false and silently disable the rule that asked.
 */
export function haversineKm(a: LatLon, b: LatLon): number {
  if (!validCoordinates(a.lat, a.lon) || !validCoordinates(b.lat, b.lon)) {
    throw new RangeError('haversineKm: latitude must be within [-90, 90] and longitude within [-180, 180]');
  }
  const dLat = (b.lat - a.lat) * RAD;
  const dLon = (b.lon - a.lon) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_MEAN_RADIUS_KM * Math.asin(Math.sqrt(Math.min(1, Math.max(0, h))));
}
