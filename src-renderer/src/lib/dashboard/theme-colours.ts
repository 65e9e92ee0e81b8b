import type { ThemeColour } from './labels'

/** The current value of theme colours, read when a chart draws (the theme can change while it is shown). */
export function themeColours(): (name: ThemeColour) => string {
  const style = getComputedStyle(document.documentElement)
  return (name) => style.getPropertyValue(name).trim()
}
