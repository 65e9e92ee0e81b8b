export const labModule = { name: 'lab', register() {} }
